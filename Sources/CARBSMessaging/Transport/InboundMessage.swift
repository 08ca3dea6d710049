import Foundation

/// A message taken from a queue and not yet settled (acknowledged, dead-lettered or released).
///
/// The body is copied out of the transport: no transport type leaks through this value.
public struct InboundMessage: Sendable {
    /// The raw body: UTF-8 JSON when the sender follows the protocol, anything at all otherwise.
    public var body: Data
    /// AMQP `message_id` (`<suggestion id>/<attempt>`), when the sender set it.
    public var messageID: String?
    /// AMQP `correlation_id` (the suggestion id), when the sender set it.
    public var correlationID: String?
    /// True when the queue delivered this message before (to this or another consumer).
    public var isRedelivered: Bool
    /// The transport's handle for settling this message; meaningless to anyone else.
    public var receipt: DeliveryReceipt

    public init(
        body: Data, messageID: String? = nil, correlationID: String? = nil, isRedelivered: Bool = false,
        receipt: DeliveryReceipt
    ) {
        self.body = body
        self.messageID = messageID
        self.correlationID = correlationID
        self.isRedelivered = isRedelivered
        self.receipt = receipt
    }
}

/// Identifies one delivery on one connection of a transport. After a reconnect the old receipts are stale:
/// settling one is a no-op (the broker redelivers the message, and the receiver is idempotent).
public struct DeliveryReceipt: Sendable, Hashable {
    /// Which connection (or channel) of the transport delivered the message; changes on every reconnect.
    public var generation: UInt64
    /// The delivery tag within that connection.
    public var tag: UInt64

    public init(generation: UInt64, tag: UInt64) {
        self.generation = generation
        self.tag = tag
    }
}

/// Properties of a message to publish.
public struct OutboundMessage: Sendable {
    public var body: Data
    /// `<suggestion id>/<attempt>`.
    public var messageID: String
    /// The suggestion id.
    public var correlationID: String

    public init(body: Data, messageID: String, correlationID: String) {
        self.body = body
        self.messageID = messageID
        self.correlationID = correlationID
    }
}
