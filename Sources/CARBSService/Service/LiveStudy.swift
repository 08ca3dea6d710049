import CARBSCore
import Foundation

/// A read-only picture of a running study, refreshed by the service after every step of its loop (for the HTTP
/// live view). A value: reading it never touches the running study.
public struct LiveStudy: Sendable {
    /// Where the service is in its life.
    public enum Phase: String, Sendable, Hashable, Codable {
        /// Connecting to the broker; nothing issued yet in this process.
        case starting
        /// Issuing suggestions and taking results in.
        case running
        /// The budget is reached: waiting for the runs in flight.
        case draining
        /// The budget was reached and the service returned.
        case finished
        /// Stopped on request (SIGTERM); a later start resumes.
        case interrupted
    }

    public var phase: Phase
    /// The latest progress; nil before the first step.
    public var progress: StudyProgress?
    /// The optimizer's latest summary (best run, Pareto set, counts); nil before the first step.
    public var summary: CARBSSummary?
    /// The study's parameters and direction (from the optimizer).
    public var parameters: [Parameter]
    public var direction: CARBSConfiguration.Direction
    /// When this process started the study.
    public var startedAt: Date
    /// When the last step was committed to the database.
    public var lastCommitAt: Date?
    /// Why the last commit failed; nil when it succeeded (or none happened yet).
    public var lastCommitError: String?

    public init(
        phase: Phase = .starting, progress: StudyProgress? = nil, summary: CARBSSummary? = nil,
        parameters: [Parameter] = [], direction: CARBSConfiguration.Direction = .minimize, startedAt: Date = Date(),
        lastCommitAt: Date? = nil, lastCommitError: String? = nil
    ) {
        self.phase = phase
        self.progress = progress
        self.summary = summary
        self.parameters = parameters
        self.direction = direction
        self.startedAt = startedAt
        self.lastCommitAt = lastCommitAt
        self.lastCommitError = lastCommitError
    }
}
