import CARBSFuzzSupport
import CARBSMessaging
import Foundation

/// One input through every decoder of bytes that come off the network (and of stored parameter objects).
///
/// Any error is a pass: hostile bytes must be rejected with a `ProtocolError`, never crash. What decodes must
/// also survive a round trip: its encoding decodes again, to the same encoding, and is accepted for its own study.
enum WireFormatFuzzing {
    static func check(_ body: Data) {
        if let message = try? WireFormat.decodeWorkerMessage(body) {
            let encoded = WireFormat.encode(message)
            guard let again = try? WireFormat.decodeWorkerMessage(encoded, expectedStudy: message.study) else {
                fatalError("a decoded worker message re-encodes to bytes it rejects: \(text(encoded))")
            }
            precondition(WireFormat.encode(again) == encoded, "worker message round trip differs: \(text(encoded))")
        }
        if let suggestion = try? WireFormat.decodeSuggestion(body) {
            let encoded = WireFormat.encode(suggestion)
            guard let again = try? WireFormat.decodeSuggestion(encoded, expectedStudy: suggestion.study) else {
                fatalError("a decoded suggestion re-encodes to bytes it rejects: \(text(encoded))")
            }
            precondition(WireFormat.encode(again) == encoded, "suggestion round trip differs: \(text(encoded))")
        }
        if let params = try? WireFormat.decodeParameters(body) {
            let encoded = WireFormat.encodeParameters(params)
            guard let again = try? WireFormat.decodeParameters(encoded) else {
                fatalError("decoded parameters re-encode to bytes they reject: \(text(encoded))")
            }
            precondition(again == params, "parameter round trip differs: \(text(encoded))")
        }
    }

    static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }
}

@main
struct FuzzWireFormat {
    static func main() throws {
        try FuzzTarget.main(name: "fuzz-wire-format", check: WireFormatFuzzing.check)
    }
}

#if CARBS_FUZZING
    /// The input libFuzzer generates, through the check.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzWireFormat(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
        WireFormatFuzzing.check(FuzzTarget.data(start, count))
        return 0
    }
#endif
