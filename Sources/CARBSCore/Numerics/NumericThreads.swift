import CLAPACK

/// How many threads the Gaussian-process numerics use: inside each OpenBLAS/LAPACK call and for the element-wise
/// kernel loops (`ParallelRows`). A process-wide setting that only the executable should change, once at startup.
///
/// OpenBLAS starts one thread per core by default. On a busy machine, small calls (the matrices of at most a few
/// hundred rows of hyperparameter fits) can wait milliseconds for the second thread to be scheduled: measured here
/// 120 ms instead of 7 ms for a fit at n = 100 with a load average of 8 on 2 cores. Set 1 where the optimizer
/// shares its cores with other busy processes. Results do not depend on the setting beyond rounding in OpenBLAS.
public enum NumericThreads {
    /// The current thread count. The corresponding OpenBLAS call is `openblas_get_num_threads`.
    public static var count: Int {
        Int(openblas_get_num_threads())
    }

    /// Sets the thread count (at least 1). The corresponding OpenBLAS call is `openblas_set_num_threads`.
    public static func set(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(count))
    }
}
