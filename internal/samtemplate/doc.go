// Package samtemplate reads sqsonce's template.yaml so that tests can assert
// what it declares.
//
// [Parse] accepts CloudFormation YAML with the short intrinsic tags (!Ref,
// !GetAtt, !Sub, !If, !Join, !Select, ...) and turns each into the plain
// long form ({"Ref": "X"}, {"Fn::GetAtt": ["X", "Arn"]}, {"Fn::Sub": ...}),
// so the template becomes ordinary maps, slices and scalars. [Values],
// [Resolve] and [String] then evaluate Ref to parameters and pseudo
// parameters and Fn::Sub over them, with the parameters' defaults or given
// overrides.
//
// It does not evaluate references to resources (their values exist only in
// a deployed stack), conditions, or the SAM transform: Globals are merged by
// [Template.FunctionProperties] one level deep only, which is all the checks
// here need. It is no CloudFormation implementation; cfn-lint validates the
// template against the real specification.
package samtemplate
