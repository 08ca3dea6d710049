import ArgumentParser

/// `carbs`: cost-aware Pareto-region Bayesian search for fleets of training workers.
public struct CarbsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "carbs",
        abstract: "Cost-aware Pareto-region Bayesian hyperparameter search (CARBS) for fleets of workers.",
        discussion: """
            Tune on one machine:  carbs tune STUDY.yaml --workers 4
            Run a fleet:          carbs optimizer STUDY.yaml --db study.sqlite
                                  carbs worker --study NAME --command python3 train.py {lr}
                                  (both read the broker URL from CARBS_BROKER_URL)
            Look at a study:      carbs status --db study.sqlite
                                  carbs export --db study.sqlite --format csv
            Tune as you scale:    carbs extrapolate --db study.sqlite --cost 1e4 --study-file next.yaml \\
                                    --base STUDY.yaml --next-max-observations 50
            """,
        subcommands: [
            TuneCommand.self, OptimizerCommand.self, WorkerCommand.self, StatusCommand.self, ExportCommand.self,
            ReportCommand.self, ExtrapolateCommand.self, TrainMLPCommand.self,
        ])

    public init() {}
}
