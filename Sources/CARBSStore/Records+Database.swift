import CARBSMessaging
import Foundation
import GRDB

// Explicit column mapping, so that each table's layout reads in one place and JSON columns use the protocol's
// encoding (integer parameters stay integers).

extension StoredSuggestion: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "suggestion"

    public init(row: Row) throws {
        id = try row.decode(forColumn: "suggestion_id")
        params = try StoredJSON.parameters(row.decode(forColumn: "params"), column: "suggestion.params")
        createdAt = try row.decode(forColumn: "created_at")
        state = try row.decode(forColumn: "state")
        attempt = try row.decode(forColumn: "attempt")
        attemptsStarted = try row.decode(forColumn: "attempts_started")
        worker = try row.decode(forColumn: "worker")
        lastHeardAt = try row.decode(forColumn: "last_heard_at")
        leaseDeadline = try row.decode(forColumn: "lease_deadline")
        predicted = try row.decode(String?.self, forColumn: "predicted").map { Data($0.utf8) }
        origin = try row.decode(forColumn: "origin")
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["suggestion_id"] = id
        container["params"] = StoredJSON.text(params)
        container["created_at"] = createdAt
        container["state"] = state
        container["attempt"] = attempt
        container["attempts_started"] = attemptsStarted
        container["worker"] = worker
        container["last_heard_at"] = lastHeardAt
        container["lease_deadline"] = leaseDeadline
        container["predicted"] = predicted.map { String(decoding: $0, as: UTF8.self) }
        container["origin"] = origin
    }
}

extension StoredAttempt: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "attempt"

    public init(row: Row) throws {
        suggestionID = try row.decode(forColumn: "suggestion_id")
        attempt = try row.decode(forColumn: "attempt")
        issuedAt = try row.decode(forColumn: "issued_at")
        publishedAt = try row.decode(forColumn: "published_at")
        startedAt = try row.decode(forColumn: "started_at")
        finishedAt = try row.decode(forColumn: "finished_at")
        outcome = try row.decode(forColumn: "outcome")
        worker = try row.decode(forColumn: "worker")
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["suggestion_id"] = suggestionID
        container["attempt"] = attempt
        container["issued_at"] = issuedAt
        container["published_at"] = publishedAt
        container["started_at"] = startedAt
        container["finished_at"] = finishedAt
        container["outcome"] = outcome
        container["worker"] = worker
    }
}

extension LoggedMessage: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "message_log"

    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        receivedAt = try row.decode(forColumn: "received_at")
        suggestionID = try row.decode(forColumn: "suggestion_id")
        attempt = try row.decode(forColumn: "attempt")
        kind = try row.decode(forColumn: "kind")
        status = try row.decode(forColumn: "status")
        body = try row.decode(forColumn: "body")
        disposition = try row.decode(forColumn: "disposition")
        reason = try row.decode(forColumn: "reason")
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["received_at"] = receivedAt
        container["suggestion_id"] = suggestionID
        container["attempt"] = attempt
        container["kind"] = kind
        container["status"] = status
        container["body"] = body
        container["disposition"] = disposition
        container["reason"] = reason
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension StoredObservation: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "observation"

    public init(row: Row) throws {
        suggestionID = try row.decode(forColumn: "suggestion_id")
        attempt = try row.decode(forColumn: "attempt")
        output = try row.decode(forColumn: "output")
        cost = try row.decode(forColumn: "cost")
        isFailure = try row.decode(forColumn: "is_failure")
        params = try StoredJSON.parameters(row.decode(forColumn: "params"), column: "observation.params")
        observedAt = try row.decode(forColumn: "observed_at")
        worker = try row.decode(forColumn: "worker")
        startedAt = try row.decode(forColumn: "started_at")
        finishedAt = try row.decode(forColumn: "finished_at")
        message = try row.decode(forColumn: "message")
        metrics = try StoredJSON.numbers(row.decode(forColumn: "metrics"), column: "observation.metrics")
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["suggestion_id"] = suggestionID
        container["attempt"] = attempt
        container["output"] = output
        container["cost"] = cost
        container["is_failure"] = isFailure
        container["params"] = StoredJSON.text(params)
        container["observed_at"] = observedAt
        container["worker"] = worker
        container["started_at"] = startedAt
        container["finished_at"] = finishedAt
        container["message"] = message
        container["metrics"] = try StoredJSON.text(metrics)
    }
}

/// JSON text columns.
enum StoredJSON {
    static func text(_ params: [String: ParameterValue]) -> String {
        String(decoding: WireFormat.encodeParameters(params), as: UTF8.self)
    }

    static func parameters(_ text: String, column: String) throws -> [String: ParameterValue] {
        do {
            return try WireFormat.decodeParameters(Data(text.utf8))
        } catch {
            throw StoreError(.corrupt, "\(column) holds unreadable parameters: \(error.message)", underlying: error)
        }
    }

    /// Non-finite numbers, which JSON lacks, are kept as the strings `inf`, `-inf`, `nan`.
    static func text(_ numbers: [String: Double]?) throws -> String? {
        guard let numbers else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(numbers), as: UTF8.self)
    }

    static func numbers(_ text: String?, column: String) throws -> [String: Double]? {
        guard let text else { return nil }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode([String: Double].self, from: Data(text.utf8))
        } catch {
            throw StoreError(
                .corrupt, "\(column) is not a JSON object of numbers: \(text.prefix(80))", underlying: error)
        }
    }
}
