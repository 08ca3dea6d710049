import CARBSMessaging
import CRabbitMQ
import Foundation

/// One rabbitmq-c connection with one channel, used synchronously.
///
/// Not thread-safe (rabbitmq-c connections are not): a `Connection` is created, used and destroyed by exactly
/// one thread, the `ConnectionThread` that owns it. Nothing from rabbitmq-c leaves this type: frames are
/// decoded into `Frame` values with their bytes copied.
final class Connection {
    /// The channel every connection uses.
    static let channel: amqp_channel_t = 1

    private let state: amqp_connection_state_t
    private var isOpen = true

    /// Opens a TCP (or TLS) connection, logs in and opens channel 1.
    /// - Throws: `AMQPError` (`.connectionFailed`, `.accessRefused`, `.invalidConfiguration` for TLS files).
    init(url: BrokerURL, tls: AMQPConfiguration.TLS, heartbeatSeconds: Int, name: String) throws(AMQPError) {
        guard let state = amqp_new_connection() else {
            throw AMQPError(.connectionFailed, "amqp_new_connection failed (out of memory)")
        }
        self.state = state
        do {
            try open(url: url, tls: tls, heartbeatSeconds: heartbeatSeconds, name: name)
        } catch {
            amqp_destroy_connection(state)
            isOpen = false
            throw error
        }
    }

    private func open(url: BrokerURL, tls: AMQPConfiguration.TLS, heartbeatSeconds: Int, name: String)
        throws(AMQPError)
    {
        let socket: OpaquePointer?
        if url.usesTLS {
            socket = amqp_ssl_socket_new(state)
            guard let socket else { throw AMQPError(.connectionFailed, "could not create a TLS socket") }
            if let path = tls.caCertificatePath {
                let status = amqp_ssl_socket_set_cacert(socket, path)
                guard status == AMQP_STATUS_OK.rawValue else {
                    throw AMQPError(
                        .invalidConfiguration, "tls.caCertificatePath: cannot load \(path)",
                        status: LibraryStatus(rawValue: status))
                }
            }
            if let certificate = tls.clientCertificatePath {
                let key = tls.clientKeyPath ?? certificate
                let status = amqp_ssl_socket_set_key(socket, certificate, key)
                guard status == AMQP_STATUS_OK.rawValue else {
                    throw AMQPError(
                        .invalidConfiguration, "tls.clientCertificatePath: cannot load \(certificate) with key \(key)",
                        status: LibraryStatus(rawValue: status))
                }
            }
            amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, tls.verifyHostname ? 1 : 0)
        } else {
            socket = amqp_tcp_socket_new(state)
            guard socket != nil else { throw AMQPError(.connectionFailed, "could not create a TCP socket") }
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        let opened = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            var message = "cannot connect to \(url.host):\(url.port)"
            if url.usesTLS && tls.verifyPeer && tls.caCertificatePath == nil {
                message += " (TLS peer verification needs cacertfile)"
            }
            throw AMQPError(.connectionFailed, message, status: LibraryStatus(rawValue: opened))
        }
        var rpcTimeout = timeval(tv_sec: 30, tv_usec: 0)
        amqp_set_rpc_timeout(state, &rpcTimeout)
        let reply = crabbitmq_login_plain(
            state, url.virtualHost, 0, 131072, Int32(heartbeatSeconds), name, url.user, url.password)
        if reply.reply_type != AMQP_RESPONSE_NORMAL {
            var error = self.error(from: reply, doing: "log in to virtual host \(url.virtualHost) as \(url.user)")
            if error.code == .closedByBroker || error.status == .connectionClosed {
                error.code = .accessRefused
            }
            throw error
        }
        amqp_channel_open(state, Self.channel)
        try checkReply(doing: "open a channel")
    }

    deinit {
        if isOpen { amqp_destroy_connection(state) }
    }

    /// Closes politely (connection.close), then frees the connection. Idempotent.
    func close() {
        guard isOpen else { return }
        isOpen = false
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        amqp_set_rpc_timeout(state, &timeout)
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        amqp_destroy_connection(state)
    }

    /// Frees the connection without talking to the broker (after the socket broke). Idempotent.
    func abandon() {
        guard isOpen else { return }
        isOpen = false
        amqp_destroy_connection(state)
    }

    /// The socket, for `poll`.
    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// The heartbeat interval the broker and client agreed on (0: none).
    var heartbeatSeconds: Int { Int(amqp_get_heartbeat(state)) }

    /// True when rabbitmq-c holds frames or bytes it has not handed out yet.
    var hasBufferedInput: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    // MARK: - Synchronous methods

    /// Declares a durable queue (or checks that it exists, when `passive`).
    /// - Returns: the number of messages ready in the queue.
    /// The corresponding rabbitmq-c call is `amqp_queue_declare`.
    @discardableResult
    func declareQueue(_ name: String, passive: Bool, arguments: [(String, FieldValue)] = []) throws(AMQPError)
        -> UInt32
    {
        let ok = name.withAMQPBytes { queue in
            arguments.withAMQPTable { table in
                amqp_queue_declare(state, Self.channel, queue, passive ? 1 : 0, 1, 0, 0, table)
            }
        }
        try checkReply(doing: passive ? "check queue \(name)" : "declare queue \(name)")
        return ok?.pointee.message_count ?? 0
    }

    /// Declares a durable exchange. The corresponding rabbitmq-c call is `amqp_exchange_declare`.
    func declareExchange(_ name: String, type: String) throws(AMQPError) {
        name.withAMQPBytes { exchange in
            type.withAMQPBytes { type in
                _ = amqp_exchange_declare(state, Self.channel, exchange, type, 0, 1, 0, 0, amqp_empty_table)
            }
        }
        try checkReply(doing: "declare exchange \(name)")
    }

    /// Binds a queue to an exchange. The corresponding rabbitmq-c call is `amqp_queue_bind`.
    func bindQueue(_ queue: String, exchange: String, routingKey: String) throws(AMQPError) {
        queue.withAMQPBytes { queueBytes in
            exchange.withAMQPBytes { exchangeBytes in
                routingKey.withAMQPBytes { key in
                    _ = amqp_queue_bind(state, Self.channel, queueBytes, exchangeBytes, key, amqp_empty_table)
                }
            }
        }
        try checkReply(doing: "bind queue \(queue) to \(exchange)")
    }

    /// Removes every ready message from a queue. The corresponding rabbitmq-c call is `amqp_queue_purge`.
    /// - Returns: how many messages were removed.
    func purgeQueue(_ name: String) throws(AMQPError) -> Int {
        let ok = name.withAMQPBytes { queue in amqp_queue_purge(state, Self.channel, queue) }
        try checkReply(doing: "purge queue \(name)")
        return Int(ok?.pointee.message_count ?? 0)
    }

    /// Deletes a queue. The corresponding rabbitmq-c call is `amqp_queue_delete`.
    func deleteQueue(_ name: String) throws(AMQPError) {
        name.withAMQPBytes { queue in _ = amqp_queue_delete(state, Self.channel, queue, 0, 0) }
        try checkReply(doing: "delete queue \(name)")
    }

    /// Deletes an exchange. The corresponding rabbitmq-c call is `amqp_exchange_delete`.
    func deleteExchange(_ name: String) throws(AMQPError) {
        name.withAMQPBytes { exchange in _ = amqp_exchange_delete(state, Self.channel, exchange, 0) }
        try checkReply(doing: "delete exchange \(name)")
    }

    /// Limits unacknowledged deliveries. The corresponding rabbitmq-c call is `amqp_basic_qos`.
    func setPrefetch(_ count: Int) throws(AMQPError) {
        amqp_basic_qos(state, Self.channel, 0, UInt16(clamping: count), 0)
        try checkReply(doing: "set prefetch \(count)")
    }

    /// Turns on publisher confirms. The corresponding rabbitmq-c call is `amqp_confirm_select`.
    func enablePublisherConfirms() throws(AMQPError) {
        amqp_confirm_select(state, Self.channel)
        try checkReply(doing: "enable publisher confirms")
    }

    /// Subscribes to a queue with manual acknowledgement. The corresponding rabbitmq-c call is
    /// `amqp_basic_consume`.
    /// - Returns: the consumer tag the broker assigned.
    func consume(_ queue: String) throws(AMQPError) -> String {
        let ok = queue.withAMQPBytes { queueBytes in
            amqp_basic_consume(state, Self.channel, queueBytes, amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        }
        try checkReply(doing: "consume from \(queue)")
        return ok.map { String(amqpBytes: $0.pointee.consumer_tag) } ?? ""
    }

    /// Ends a subscription. The corresponding rabbitmq-c call is `amqp_basic_cancel`.
    func cancel(consumerTag: String) throws(AMQPError) {
        consumerTag.withAMQPBytes { tag in _ = amqp_basic_cancel(state, Self.channel, tag) }
        try checkReply(doing: "cancel consumer")
    }

    /// Fetches one message synchronously (administration and tests only). The corresponding rabbitmq-c calls
    /// are `amqp_basic_get` and `amqp_read_message`.
    func get(_ queue: String) throws(AMQPError) -> (AMQPAdministration.Message, tag: UInt64)? {
        let reply = queue.withAMQPBytes { queueBytes in amqp_basic_get(state, Self.channel, queueBytes, 0) }
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else { throw error(from: reply, doing: "get from \(queue)") }
        guard reply.reply.id == crabbitmq_basic_get_ok_method,
            let ok = reply.reply.decoded?.assumingMemoryBound(to: amqp_basic_get_ok_t.self)
        else { return nil }
        let tag = ok.pointee.delivery_tag
        let redelivered = ok.pointee.redelivered != 0
        var message = amqp_message_t()
        let read = amqp_read_message(state, Self.channel, &message, 0)
        guard read.reply_type == AMQP_RESPONSE_NORMAL else { throw error(from: read, doing: "read a message") }
        defer { amqp_destroy_message(&message) }
        let properties = MessageProperties(message.properties)
        var headers: [String: String] = [:]
        if message.properties._flags & crabbitmq_headers_flag != 0 {
            let table = message.properties.headers
            for index in 0..<Int(table.num_entries) {
                let entry = table.entries[index]
                let kind = entry.value.kind
                if kind == UInt8(ascii: "S") || kind == UInt8(ascii: "x") {
                    headers[String(amqpBytes: entry.key)] = String(amqpBytes: entry.value.value.bytes)
                }
            }
        }
        let body = Data(amqpBytes: message.body)
        return (
            AMQPAdministration.Message(
                body: body, messageID: properties.messageID, correlationID: properties.correlationID,
                headers: headers,
                contentType: message.properties._flags & crabbitmq_content_type_flag != 0
                    ? String(amqpBytes: message.properties.content_type) : nil,
                isPersistent: message.properties._flags & crabbitmq_delivery_mode_flag != 0
                    && message.properties.delivery_mode == crabbitmq_delivery_persistent,
                isRedelivered: redelivered),
            tag
        )
    }

    // MARK: - Asynchronous methods (no reply from the broker)

    /// Publishes a persistent JSON message through the default exchange to `queue`.
    /// The corresponding rabbitmq-c call is `amqp_basic_publish`.
    /// - Parameter mandatory: ask the broker to return the message (basic.return) when no queue takes it.
    func publish(to queue: String, _ message: OutboundMessage, headers: [(String, FieldValue)], mandatory: Bool)
        throws(AMQPError)
    {
        let status: Int32 = queue.withAMQPBytes { routingKey in
            "application/json".withAMQPBytes { contentType in
                message.messageID.withAMQPBytes { messageID in
                    message.correlationID.withAMQPBytes { correlationID in
                        headers.withAMQPTable { table in
                            var properties = amqp_basic_properties_t()
                            properties._flags =
                                crabbitmq_content_type_flag | crabbitmq_delivery_mode_flag
                                | crabbitmq_message_id_flag | crabbitmq_correlation_id_flag
                            properties.content_type = contentType
                            properties.delivery_mode = crabbitmq_delivery_persistent
                            properties.message_id = messageID
                            properties.correlation_id = correlationID
                            if !headers.isEmpty {
                                properties._flags |= crabbitmq_headers_flag
                                properties.headers = table
                            }
                            return message.body.withUnsafeBytes { raw in
                                let body = amqp_bytes_t(
                                    len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress))
                                return amqp_basic_publish(
                                    state, Self.channel, amqp_empty_bytes, routingKey, mandatory ? 1 : 0, 0,
                                    &properties, body)
                            }
                        }
                    }
                }
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "publish to \(queue) failed", status: LibraryStatus(rawValue: status))
        }
    }

    /// Acknowledges one delivery, or every delivery up to `tag` when `multiple`.
    /// The corresponding rabbitmq-c call is `amqp_basic_ack`.
    func acknowledge(tag: UInt64, multiple: Bool) throws(AMQPError) {
        let status = amqp_basic_ack(state, Self.channel, tag, multiple ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "acknowledge failed", status: LibraryStatus(rawValue: status))
        }
    }

    /// Rejects one delivery, requeueing it or not. The corresponding rabbitmq-c call is `amqp_basic_reject`.
    func reject(tag: UInt64, requeue: Bool) throws(AMQPError) {
        let status = amqp_basic_reject(state, Self.channel, tag, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "reject failed", status: LibraryStatus(rawValue: status))
        }
    }

    /// Answers the broker's channel.close, after which channel 1 can be opened again.
    func acknowledgeChannelClose() {
        var ok = amqp_channel_close_ok_t(dummy: 0)
        _ = amqp_send_method(state, Self.channel, crabbitmq_channel_close_ok_method, &ok)
    }

    /// Answers the broker's connection.close; the connection is finished afterwards.
    func acknowledgeConnectionClose() {
        var ok = amqp_connection_close_ok_t(dummy: 0)
        _ = amqp_send_method(state, 0, crabbitmq_connection_close_ok_method, &ok)
    }

    /// Opens channel 1 again after the broker closed it. The corresponding rabbitmq-c call is `amqp_channel_open`.
    func reopenChannel() throws(AMQPError) {
        amqp_channel_open(state, Self.channel)
        try checkReply(doing: "reopen the channel")
    }

    // MARK: - Frames

    /// Returns the next frame if one is available without waiting; sends a heartbeat when one is due.
    /// The corresponding rabbitmq-c call is `amqp_simple_wait_frame_noblock` (with a zero timeout).
    /// - Returns: nil when no complete frame is available.
    /// - Throws: `AMQPError` when the connection broke.
    func nextFrame() throws(AMQPError) -> Frame? {
        var frame = amqp_frame_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "connection lost", status: LibraryStatus(rawValue: status))
        }
        return Frame(frame)
    }

    /// Frees memory of frames already decoded. The corresponding rabbitmq-c call is `amqp_maybe_release_buffers`.
    func releaseBuffers() {
        amqp_maybe_release_buffers(state)
    }

    // MARK: - Errors

    private func checkReply(doing action: String) throws(AMQPError) {
        let reply = amqp_get_rpc_reply(state)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else { throw error(from: reply, doing: action) }
    }

    /// Turns a failed reply into an `AMQPError`, answering the broker's close so that the channel can be reopened.
    private func error(from reply: amqp_rpc_reply_t, doing action: String) -> AMQPError {
        switch reply.reply_type {
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return AMQPError(
                .connectionFailed, "could not \(action)", status: LibraryStatus(rawValue: reply.library_error))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == crabbitmq_channel_close_method,
                let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_channel_close_t.self)
            {
                let code = close.pointee.reply_code
                let text = String(amqpBytes: close.pointee.reply_text)
                acknowledgeChannelClose()
                return AMQPError(Self.errorCode(replyCode: code), "could not \(action): \(text)", replyCode: code)
            }
            if reply.reply.id == crabbitmq_connection_close_method,
                let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_connection_close_t.self)
            {
                let code = close.pointee.reply_code
                let text = String(amqpBytes: close.pointee.reply_text)
                acknowledgeConnectionClose()
                return AMQPError(Self.errorCode(replyCode: code), "could not \(action): \(text)", replyCode: code)
            }
            return AMQPError(.closedByBroker, "could not \(action): unexpected reply \(reply.reply.id)")
        default:
            return AMQPError(.library, "could not \(action): no reply")
        }
    }

    static func errorCode(replyCode: UInt16) -> AMQPError.Code {
        switch replyCode {
        case 403, 530: .accessRefused
        case 404: .queueNotFound
        case 406: .topologyMismatch
        default: .closedByBroker
        }
    }
}

/// A frame from the broker, decoded and copied out of rabbitmq-c's buffers.
enum Frame {
    case deliver(consumerTag: String, deliveryTag: UInt64, isRedelivered: Bool)
    case returned(replyCode: UInt16, replyText: String, routingKey: String)
    case header(bodySize: UInt64, properties: MessageProperties)
    case body(Data)
    case acknowledged(tag: UInt64, multiple: Bool)
    case rejected(tag: UInt64, multiple: Bool)
    case cancelledByBroker(consumerTag: String)
    case cancelOK
    case channelClosed(replyCode: UInt16, text: String)
    case connectionClosed(replyCode: UInt16, text: String)
    case blocked(reason: String)
    case unblocked
    case other

    init(_ frame: amqp_frame_t) {
        switch Int32(frame.frame_type) {
        case AMQP_FRAME_METHOD:
            let method = frame.payload.method
            let decoded = method.decoded
            switch method.id {
            case crabbitmq_basic_deliver_method:
                guard let deliver = decoded?.assumingMemoryBound(to: amqp_basic_deliver_t.self) else {
                    self = .other
                    return
                }
                self = .deliver(
                    consumerTag: String(amqpBytes: deliver.pointee.consumer_tag),
                    deliveryTag: deliver.pointee.delivery_tag, isRedelivered: deliver.pointee.redelivered != 0)
            case crabbitmq_basic_ack_method:
                guard let ack = decoded?.assumingMemoryBound(to: amqp_basic_ack_t.self) else {
                    self = .other
                    return
                }
                self = .acknowledged(tag: ack.pointee.delivery_tag, multiple: ack.pointee.multiple != 0)
            case crabbitmq_basic_nack_method:
                guard let nack = decoded?.assumingMemoryBound(to: amqp_basic_nack_t.self) else {
                    self = .other
                    return
                }
                self = .rejected(tag: nack.pointee.delivery_tag, multiple: nack.pointee.multiple != 0)
            case crabbitmq_basic_return_method:
                guard let returned = decoded?.assumingMemoryBound(to: amqp_basic_return_t.self) else {
                    self = .other
                    return
                }
                self = .returned(
                    replyCode: returned.pointee.reply_code, replyText: String(amqpBytes: returned.pointee.reply_text),
                    routingKey: String(amqpBytes: returned.pointee.routing_key))
            case crabbitmq_basic_cancel_method:
                let cancel = decoded?.assumingMemoryBound(to: amqp_basic_cancel_t.self)
                self = .cancelledByBroker(consumerTag: cancel.map { String(amqpBytes: $0.pointee.consumer_tag) } ?? "")
            case crabbitmq_basic_cancel_ok_method:
                self = .cancelOK
            case crabbitmq_channel_close_method:
                let close = decoded?.assumingMemoryBound(to: amqp_channel_close_t.self)
                self = .channelClosed(
                    replyCode: close?.pointee.reply_code ?? 0,
                    text: close.map { String(amqpBytes: $0.pointee.reply_text) } ?? "")
            case crabbitmq_connection_close_method:
                let close = decoded?.assumingMemoryBound(to: amqp_connection_close_t.self)
                self = .connectionClosed(
                    replyCode: close?.pointee.reply_code ?? 0,
                    text: close.map { String(amqpBytes: $0.pointee.reply_text) } ?? "")
            case crabbitmq_connection_blocked_method:
                let blocked = decoded?.assumingMemoryBound(to: amqp_connection_blocked_t.self)
                self = .blocked(reason: blocked.map { String(amqpBytes: $0.pointee.reason) } ?? "")
            case crabbitmq_connection_unblocked_method:
                self = .unblocked
            default:
                self = .other
            }
        case AMQP_FRAME_HEADER:
            let header = frame.payload.properties
            let properties =
                header.decoded.map {
                    MessageProperties($0.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee)
                }
                ?? MessageProperties()
            self = .header(bodySize: header.body_size, properties: properties)
        case AMQP_FRAME_BODY:
            self = .body(Data(amqpBytes: frame.payload.body_fragment))
        default:
            self = .other
        }
    }
}

/// The message properties CARBS reads.
struct MessageProperties {
    var messageID: String?
    var correlationID: String?

    init() {}

    init(_ properties: amqp_basic_properties_t) {
        if properties._flags & crabbitmq_message_id_flag != 0 {
            messageID = String(amqpBytes: properties.message_id)
        }
        if properties._flags & crabbitmq_correlation_id_flag != 0 {
            correlationID = String(amqpBytes: properties.correlation_id)
        }
    }
}

/// A value in an AMQP field table (headers, queue arguments).
enum FieldValue {
    case string(String)
    case integer(Int64)
}

extension String {
    /// Copies AMQP bytes into a String (invalid UTF-8 is repaired).
    init(amqpBytes bytes: amqp_bytes_t) {
        guard bytes.len > 0, let base = bytes.bytes else {
            self = ""
            return
        }
        self = String(decoding: UnsafeRawBufferPointer(start: base, count: bytes.len), as: UTF8.self)
    }

    /// Calls `body` with `amqp_bytes_t` pointing at this string's UTF-8, valid only inside `body`.
    /// (Never `amqp_cstring_bytes(swiftString)`: that points at a temporary.)
    func withAMQPBytes<Result>(_ body: (amqp_bytes_t) throws -> Result) rethrows -> Result {
        var copy = self
        return try copy.withUTF8 { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return try body(amqp_empty_bytes) }
            return try body(amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: base)))
        }
    }
}

extension Data {
    /// Copies AMQP bytes into Data.
    init(amqpBytes bytes: amqp_bytes_t) {
        guard bytes.len > 0, let base = bytes.bytes else {
            self = Data()
            return
        }
        self = Data(bytes: base, count: bytes.len)
    }
}

extension Array where Element == (String, FieldValue) {
    /// Calls `body` with an `amqp_table_t` of these entries, valid only inside `body`.
    func withAMQPTable<Result>(_ body: (amqp_table_t) throws -> Result) rethrows -> Result {
        if isEmpty { return try body(amqp_empty_table) }
        // All strings go into one buffer so that one pointer scope covers every entry.
        var storage: [UInt8] = []
        var ranges: [(key: Range<Int>, value: Range<Int>?)] = []
        for (key, value) in self {
            let keyStart = storage.count
            storage.append(contentsOf: key.utf8)
            let keyRange = keyStart..<storage.count
            if case .string(let text) = value {
                let valueStart = storage.count
                storage.append(contentsOf: text.utf8)
                ranges.append((keyRange, valueStart..<storage.count))
            } else {
                ranges.append((keyRange, nil))
            }
        }
        if storage.isEmpty { storage.append(0) }
        return try storage.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            var entries = [amqp_table_entry_t](repeating: amqp_table_entry_t(), count: count)
            for index in indices {
                let (keyRange, valueRange) = ranges[index]
                entries[index].key = amqp_bytes_t(len: keyRange.count, bytes: base + keyRange.lowerBound)
                switch self[index].1 {
                case .string:
                    let range = valueRange!
                    entries[index].value.kind = UInt8(ascii: "S")
                    entries[index].value.value.bytes = amqp_bytes_t(len: range.count, bytes: base + range.lowerBound)
                case .integer(let number):
                    entries[index].value.kind = UInt8(ascii: "l")
                    entries[index].value.value.i64 = number
                }
            }
            return try entries.withUnsafeMutableBufferPointer { buffer in
                try body(amqp_table_t(num_entries: Int32(buffer.count), entries: buffer.baseAddress))
            }
        }
    }
}
