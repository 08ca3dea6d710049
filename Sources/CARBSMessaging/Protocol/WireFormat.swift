import Foundation

/// JSON encoding and strict decoding of protocol messages.
public enum WireFormat {
    /// The protocol version this build speaks.
    public static let protocolVersion = 1
}
