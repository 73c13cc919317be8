package verifier

// UnverifiedPayloadChecks runs the schema and value_sets checks on an
// eu_dcc_v1 object whose signature was not verified. Only the conformance
// harness does this, to evaluate EXPECTEDSCHEMAVALIDATION on vectors whose
// signature fails; Verify never does.
func UnverifiedPayloadChecks(v *Verifier, rawDCC []byte) (schema, valueSets Status) {
	r := &Result{order: builtinOrder}
	v.checkGeneric(r, rawDCC)
	return r.checks[iSchema].status, r.checks[iValueSets].status
}
