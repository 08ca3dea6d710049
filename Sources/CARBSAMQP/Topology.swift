import CARBSMessaging

/// The queues and exchange of one study, and how to declare them identically on every run.
struct Topology: Sendable {
    let names: QueueNames
    let queueType: AMQPConfiguration.QueueType
    let deliveryLimit: Int

    init(names: QueueNames, queueType: AMQPConfiguration.QueueType, deliveryLimit: Int) {
        self.names = names
        self.queueType = queueType
        self.deliveryLimit = deliveryLimit
    }

    /// `carbs.<study>.dlx`: the durable direct exchange that routes dead-lettered messages to the dead queue.
    var deadLetterExchange: String { "carbs.\(names.study).dlx" }

    /// Arguments of the suggestions and results queues: dead-lettering to the dead queue (messages the broker
    /// gives up on, e.g. past the delivery limit of a quorum queue), and the queue type.
    var workQueueArguments: [(String, FieldValue)] {
        var arguments: [(String, FieldValue)] = [
            ("x-dead-letter-exchange", .string(deadLetterExchange)),
            ("x-dead-letter-routing-key", .string(names.dead)),
        ]
        arguments += typeArguments
        if queueType == .quorum {
            arguments.append(("x-delivery-limit", .integer(Int64(deliveryLimit))))
        }
        return arguments
    }

    /// Arguments of the dead queue: only the queue type (a dead queue never dead-letters).
    var deadQueueArguments: [(String, FieldValue)] { typeArguments }

    private var typeArguments: [(String, FieldValue)] {
        queueType == .quorum ? [("x-queue-type", .string("quorum"))] : []
    }

    /// Declares everything (idempotent: the same arguments on every run).
    func declare(on connection: Connection) throws(AMQPError) {
        try connection.declareExchange(deadLetterExchange, type: "direct")
        try connection.declareQueue(names.dead, passive: false, arguments: deadQueueArguments)
        try connection.bindQueue(names.dead, exchange: deadLetterExchange, routingKey: names.dead)
        try connection.declareQueue(names.suggestions, passive: false, arguments: workQueueArguments)
        try connection.declareQueue(names.results, passive: false, arguments: workQueueArguments)
    }

    /// Checks that the queues a worker uses exist (passive declarations).
    /// - Throws: `AMQPError` `.queueNotFound` (the broker closed the channel) when one is missing.
    func checkWorkerQueues(on connection: Connection) throws(AMQPError) {
        try connection.declareQueue(names.suggestions, passive: true)
        try connection.declareQueue(names.results, passive: true)
    }
}
