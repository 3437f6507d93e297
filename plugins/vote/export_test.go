package vote

// EncodeBallot is encodeBallot, for the benchmarks to load ballots straight
// into the store as the plugin writes them.
var EncodeBallot = encodeBallot
