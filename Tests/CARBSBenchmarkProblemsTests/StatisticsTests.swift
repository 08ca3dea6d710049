import CARBSBenchmarkProblems
import Testing

@Suite("Benchmark statistics")
struct StatisticsTests {
    @Test("quantiles interpolate linearly between order statistics (NumPy's default)")
    func quantiles() {
        let values = [7.0, 1, 3, 5, 9]
        #expect(BenchmarkStatistics.median(values) == 5)
        #expect(BenchmarkStatistics.quantile(values, 0.25) == 3)
        #expect(BenchmarkStatistics.quantile(values, 0.1) == 1.8)
        #expect(BenchmarkStatistics.interquartileRange(values) == 4)
        #expect(BenchmarkStatistics.median([1, 2, 3, 4]) == 2.5)
        #expect(BenchmarkStatistics.median([4]) == 4)
    }

    @Test("infinite regrets sort last and only matter where they are reached")
    func infinities() {
        #expect(BenchmarkStatistics.median([1, 2, .infinity]) == 2)
        #expect(BenchmarkStatistics.median([1, .infinity]) == .infinity)
        #expect(BenchmarkStatistics.interquartileRange([.infinity, .infinity]) == 0)
    }
}
