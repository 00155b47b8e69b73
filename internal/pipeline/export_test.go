package pipeline

// The reference encoder, for the tests in package pipeline_test.
var (
	OracleAppendRedactedJSON = oracleAppendRedactedJSON
	OracleRedactedString     = oracleRedactedString
)
