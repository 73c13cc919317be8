package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vaxcert/vaxcert/verifier/rules"
)

var compiled = sync.OnceValues(func() (*sjs.Schema, error) {
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(rules.Schema))
	if err != nil {
		return nil, err
	}
	c := sjs.NewCompiler()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(rules.SchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(rules.SchemaID)
})

type refuseLoader struct{}

func (refuseLoader) Load(string) (any, error) {
	return nil, errors.New("ruletest: external schema references are not loaded")
}

// ValidateSchema checks a rule (JSON text) against the rule envelope's
// JSON schema. The error names the failing member and keyword.
func ValidateSchema(data []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("ruletest: failed to compile the rule schema: %w", err)
	}
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("ruletest: rule is not JSON: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		var ve *sjs.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("ruletest: rule violates the schema: %s", describe(ve))
		}
		return err
	}
	return nil
}

// describe lists the leaf failures as "/Member: message".
func describe(ve *sjs.ValidationError) string {
	var parts []string
	var walk func(e *sjs.ValidationError)
	walk = func(e *sjs.ValidationError) {
		if len(e.Causes) == 0 {
			keyword := "schema"
			if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
				keyword = kp[len(kp)-1]
			}
			parts = append(parts, "/"+strings.Join(e.InstanceLocation, "/")+": "+keyword)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(parts, "; ")
}
