/// The settings of one demo training run: the five hyperparameters the demo study tunes.
public struct MLPHyperparameters: Sendable, Hashable, Codable {
    /// Adam's step size (the peak of a cosine schedule that decays to zero).
    public var learningRate: Double
    /// Units in each of the two hidden layers.
    public var hiddenDim: Int
    /// Optimizer steps (minibatches).
    public var steps: Int
    /// Rows per minibatch.
    public var batchSize: Int
    /// Decoupled (AdamW) weight decay on the weight matrices, per unit of learning rate.
    public var weightDecay: Double

    /// Creates a setting; the defaults train a small network reasonably well.
    public init(
        learningRate: Double = 3e-3, hiddenDim: Int = 32, steps: Int = 300, batchSize: Int = 32,
        weightDecay: Double = 1e-4
    ) {
        self.learningRate = learningRate
        self.hiddenDim = hiddenDim
        self.steps = steps
        self.batchSize = batchSize
        self.weightDecay = weightDecay
    }

    /// The names the hyperparameters have in a study file, in the order of the fields.
    public static let parameterNames = ["learning_rate", "hidden_dim", "steps", "batch_size", "weight_decay"]

    /// Builds a setting from study parameter values; names not given keep their defaults.
    /// - Throws: `MLPTraining.Error` naming a parameter that is unknown or a value that is out of range.
    public init(values: [String: Double]) throws(MLPTraining.Error) {
        self.init()
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            guard value.isFinite else {
                throw MLPTraining.Error(.invalidHyperparameter, "\(name): \(value) is not a finite number")
            }
            switch name {
            case "learning_rate": learningRate = value
            case "hidden_dim": hiddenDim = Int(value.rounded())
            case "steps": steps = Int(value.rounded())
            case "batch_size": batchSize = Int(value.rounded())
            case "weight_decay": weightDecay = value
            default:
                throw MLPTraining.Error(
                    .invalidHyperparameter,
                    "\(name): is not a parameter of the MLP demo (known: \(Self.parameterNames.joined(separator: ", ")))"
                )
            }
        }
        try validate()
    }

    /// Checks that every value is usable.
    /// - Throws: `MLPTraining.Error` naming the first bad value and what would be valid.
    public func validate() throws(MLPTraining.Error) {
        func check(_ ok: Bool, _ text: String) throws(MLPTraining.Error) {
            if !ok { throw MLPTraining.Error(.invalidHyperparameter, text) }
        }
        try check(learningRate > 0 && learningRate.isFinite, "learning_rate: \(learningRate) must be > 0")
        try check((1...4096).contains(hiddenDim), "hidden_dim: \(hiddenDim) must be in 1...4096")
        try check((1...1_000_000).contains(steps), "steps: \(steps) must be in 1...1000000")
        try check((1...65536).contains(batchSize), "batch_size: \(batchSize) must be in 1...65536")
        try check(weightDecay >= 0 && weightDecay.isFinite, "weight_decay: \(weightDecay) must be ≥ 0")
    }
}
