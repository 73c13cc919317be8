package certlogic

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is matched by every error for an expression that is not valid
// CertLogic; the concrete error is a [*ValidationError].
var ErrInvalid = errors.New("certlogic: invalid expression")

// ErrEval is matched by every error an evaluation returns: an operand of
// the wrong type, an unparsable date, a guard neither truthy nor falsy, or
// the step budget exhausted. The concrete error is an [*EvalError].
var ErrEval = errors.New("certlogic: evaluation failed")

// ValidationError lists the issues the validator found.
type ValidationError struct {
	Issues []Issue
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("certlogic: invalid expression: ")
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(is.Message)
		if i == 4 && len(e.Issues) > 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Issues)-5)
			break
		}
	}
	return b.String()
}

// Unwrap returns [ErrInvalid].
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// EvalError is a failed evaluation: Op is the operation, Message says what
// was wrong. It never quotes data (data holds personal data).
type EvalError struct {
	Op      string
	Message string
}

func (e *EvalError) Error() string {
	return "certlogic: evaluation failed in " + strconv.Quote(e.Op) + ": " + e.Message
}

// Unwrap returns [ErrEval].
func (e *EvalError) Unwrap() error { return ErrEval }

func evalErr(op, msg string) error { return &EvalError{Op: op, Message: msg} }

// MaxSteps bounds the operations one [Expr.Eval] performs. Real rules take
// well under a thousand.
const MaxSteps = 1_000_000

// Expr is a validated, compiled CertLogic expression. It is immutable and
// safe for concurrent use.
type Expr struct {
	root node
	src  any
}

// Parse decodes JSON text, validates it and compiles it.
func Parse(data []byte) (*Expr, error) {
	v, err := FromJSON(data)
	if err != nil {
		return nil, err
	}
	return Compile(v)
}

// Compile validates expr (this package's Go form, see [FromJSON]) and
// compiles it. An invalid expression is a [*ValidationError].
func Compile(expr any) (*Expr, error) {
	if issues := Validate(expr); len(issues) > 0 {
		return nil, &ValidationError{Issues: issues}
	}
	return &Expr{root: compile(expr), src: expr}, nil
}

// Source returns the expression as given to Compile. Do not modify it.
func (e *Expr) Source() any { return e.src }

// Eval evaluates e on data. Errors match [ErrEval]. The result may share
// memory with e and with data: do not modify it.
func (e *Expr) Eval(data any) (any, error) {
	var ev Evaluator
	return ev.Eval(e, data)
}

// Evaluator evaluates expressions one after the other, reusing its state
// (one allocation for many rules on the same certificate). Its zero value
// is ready to use. It is NOT safe for concurrent use; [Expr.Eval] makes one
// per call.
type Evaluator struct {
	ev evaluator
}

// Eval evaluates e on data, within a fresh step budget ([MaxSteps]).
func (x *Evaluator) Eval(e *Expr, data any) (any, error) {
	x.ev.budget = MaxSteps
	v, err := e.root.eval(&x.ev, data)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(*reduceScope); ok {
		return s.object(), nil
	}
	return v, nil
}

// Evaluate validates, compiles and evaluates expr on data in one call.
func Evaluate(expr, data any) (any, error) {
	e, err := Compile(expr)
	if err != nil {
		return nil, err
	}
	return e.Eval(data)
}

type evaluator struct {
	budget int
}

func (ev *evaluator) step(op string) error {
	ev.budget--
	if ev.budget < 0 {
		return evalErr(op, fmt.Sprintf("more than %d evaluation steps", MaxSteps))
	}
	return nil
}

type node interface {
	eval(ev *evaluator, data any) (any, error)
}

// compile builds the node tree of a validated expression.
func compile(expr any) node {
	switch x := expr.(type) {
	case string, bool, float64:
		return literal{x}
	case []any:
		items := make([]node, len(x))
		constant := make([]any, len(x))
		allConstant := true
		for i, e := range x {
			items[i] = compile(e)
			if l, ok := items[i].(literal); ok {
				constant[i] = l.v
			} else {
				allConstant = false
			}
		}
		if allConstant {
			// an array of literals (e.g. a list of accepted codes) is built
			// once; nothing in CertLogic modifies a value
			return literal{constant}
		}
		return array(items)
	case map[string]any:
		for op, values := range x {
			if op == "var" {
				return compileVar(values.(string))
			}
			args := values.([]any)
			operands := func(n int) []node {
				out := make([]node, n)
				for i := range out {
					out[i] = compile(args[i])
				}
				return out
			}
			switch op {
			case "if":
				o := operands(3)
				return ifNode{o[0], o[1], o[2]}
			case "and":
				return andNode(operands(len(args)))
			case "!":
				return notNode{compile(args[0])}
			case "===":
				o := operands(2)
				return eqNode{o[0], o[1]}
			case "in":
				o := operands(2)
				return inNode{o[0], o[1]}
			case "+":
				o := operands(2)
				return plusNode{o[0], o[1]}
			case "<", ">", "<=", ">=":
				return cmpNode{op: op, args: operands(len(args))}
			case "after", "before", "not-after", "not-before":
				return cmpNode{op: op, args: operands(len(args)), dates: true}
			case "plusTime":
				return plusTimeNode{compile(args[0]), args[1].(float64), args[2].(string)}
			case "reduce":
				o := operands(3)
				return reduceNode{o[0], o[1], o[2]}
			case "extractFromUVCI":
				return extractNode{compile(args[0]), args[1].(float64)}
			case "dccDateOfBirth":
				return dobNode{compile(args[0])}
			}
		}
	}
	// Validate accepted the expression, so this is unreachable.
	panic("certlogic: compile called on an invalid expression")
}

type literal struct{ v any }

func (n literal) eval(*evaluator, any) (any, error) { return n.v, nil }

type array []node

func (n array) eval(ev *evaluator, data any) (any, error) {
	out := make([]any, len(n))
	for i, e := range n {
		v, err := e.eval(ev, data)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(*reduceScope); ok {
			v = s.object()
		}
		out[i] = v
	}
	return out, nil
}

// varNode is {"var": path}, its fragments split once.
type varNode struct {
	frags []fragment
}

type fragment struct {
	key   string
	index int  // when isIndex
	isIdx bool // the fragment is an integer (JavaScript's parseInt succeeded)
}

func compileVar(path string) node {
	if path == "" {
		return varNode{}
	}
	parts := strings.Split(path, ".")
	frags := make([]fragment, len(parts))
	for i, p := range parts {
		frags[i].key = p
		if n, ok := parseIntPrefix(p); ok {
			frags[i].index, frags[i].isIdx = n, true
		}
	}
	return varNode{frags}
}

// parseIntPrefix is JavaScript's parseInt(s, 10) where it yields a number:
// optional whitespace and sign, then leading digits ("1x" is 1).
func parseIntPrefix(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n, i := 0, 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n < 1<<30 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if i == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// Reference: certlogic-js internals.ts access.
func (n varNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("var"); err != nil {
		return nil, err
	}
	cur := data
	for _, f := range n.frags {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[f.key]
		case *Object:
			cur, _ = x.Get(f.key)
		case []any:
			if f.isIdx && f.index >= 0 && f.index < len(x) {
				cur = x[f.index]
			} else {
				cur = nil
			}
		case *reduceScope:
			switch f.key {
			case "accumulator":
				cur = x.accumulator
			case "current":
				cur = x.current
			default:
				cur = nil
			}
		default:
			cur = nil
		}
		if cur == nil {
			return nil, nil
		}
	}
	return cur, nil
}

type ifNode struct{ guard, then, els node }

func (n ifNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("if"); err != nil {
		return nil, err
	}
	g, err := n.guard.eval(ev, data)
	if err != nil {
		return nil, err
	}
	switch boolsiness(g) {
	case 1:
		return n.then.eval(ev, data)
	case 0:
		return n.els.eval(ev, data)
	}
	return nil, evalErr("if", "if-guard evaluates to something neither truthy, nor falsy")
}

type andNode []node

func (n andNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("and"); err != nil {
		return nil, err
	}
	var v any = true
	for _, o := range n {
		var err error
		if v, err = o.eval(ev, data); err != nil {
			return nil, err
		}
		switch boolsiness(v) {
		case 0:
			return v, nil
		case -1:
			return nil, evalErr("and", `all operands of an "and" operation must be either truthy or falsy`)
		}
	}
	return v, nil
}

type notNode struct{ operand node }

func (n notNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("!"); err != nil {
		return nil, err
	}
	v, err := n.operand.eval(ev, data)
	if err != nil {
		return nil, err
	}
	switch boolsiness(v) {
	case 0:
		return true, nil
	case 1:
		return false, nil
	}
	return nil, evalErr("!", "operand of ! evaluates to something neither truthy, nor falsy")
}

// evalAll evaluates operands in order (infix operations other than "and"
// evaluate all of theirs before checking types).
func evalAll(ev *evaluator, data any, ns []node, buf []any) ([]any, error) {
	for _, o := range ns {
		v, err := o.eval(ev, data)
		if err != nil {
			return nil, err
		}
		buf = append(buf, v)
	}
	return buf, nil
}

// evalPair evaluates two operands in order.
func evalPair(ev *evaluator, data any, l, r node) (any, any, error) {
	lv, err := l.eval(ev, data)
	if err != nil {
		return nil, nil, err
	}
	rv, err := r.eval(ev, data)
	if err != nil {
		return nil, nil, err
	}
	return lv, rv, nil
}

type eqNode struct{ l, r node }

func (n eqNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("==="); err != nil {
		return nil, err
	}
	l, r, err := evalPair(ev, data, n.l, n.r)
	if err != nil {
		return nil, err
	}
	return equal(l, r), nil
}

type inNode struct{ l, r node }

func (n inNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("in"); err != nil {
		return nil, err
	}
	x, r, err := evalPair(ev, data, n.l, n.r)
	if err != nil {
		return nil, err
	}
	arr, ok := r.([]any)
	if !ok {
		return nil, evalErr("in", `right-hand side of an "in" operation must be an array`)
	}
	if s, ok := x.(string); ok {
		// the common case: a code in a value set or a list of codes
		for _, e := range arr {
			if t, ok := e.(string); ok && t == s {
				return true, nil
			}
		}
		return false, nil
	}
	for _, e := range arr {
		if equal(x, e) {
			return true, nil
		}
	}
	return false, nil
}

type plusNode struct{ l, r node }

func (n plusNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("+"); err != nil {
		return nil, err
	}
	lv, rv, err := evalPair(ev, data, n.l, n.r)
	if err != nil {
		return nil, err
	}
	l, ok1 := isInt(lv)
	r, ok2 := isInt(rv)
	if !ok1 || !ok2 {
		return nil, evalErr("+", "operands of this operation must both be integers")
	}
	return l + r, nil
}

type cmpNode struct {
	op    string
	args  []node
	dates bool
}

func (n cmpNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step(n.op); err != nil {
		return nil, err
	}
	var buf [3]any
	vs, err := evalAll(ev, data, n.args, buf[:0])
	if err != nil {
		return nil, err
	}
	var nums [3]float64
	for i, v := range vs {
		if n.dates {
			d, ok := v.(DateTime)
			if !ok {
				return nil, evalErr(n.op, "all operands of a date-time comparison must be date-times")
			}
			nums[i] = float64(d.ms)
		} else {
			f, ok := isInt(v)
			if !ok {
				return nil, evalErr(n.op, "all operands of a comparison operation must be of integer type")
			}
			nums[i] = f
		}
	}
	ok := compare(n.op, nums[0], nums[1])
	if len(vs) == 3 {
		ok = ok && compare(n.op, nums[1], nums[2])
	}
	return ok, nil
}

func compare(op string, l, r float64) bool {
	switch op {
	case "<", "before":
		return l < r
	case ">", "after":
		return l > r
	case "<=", "not-after":
		return l <= r
	}
	return l >= r // ">=", "not-before"
}

type plusTimeNode struct {
	date   node
	amount float64
	unit   string
}

func (n plusTimeNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("plusTime"); err != nil {
		return nil, err
	}
	v, err := n.date.eval(ev, data)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, evalErr("plusTime", `date argument (#1) of "plusTime" must be a string`)
	}
	dt, err := plusTime(s, n.amount, n.unit)
	if err != nil {
		return nil, evalErr("plusTime", err.Error())
	}
	return dt, nil
}

type reduceNode struct{ operand, lambda, initial node }

// reduceScope is the lambda's data context {"accumulator", "current"},
// kept as a struct so that a reduce step allocates no map.
type reduceScope struct{ accumulator, current any }

func (s *reduceScope) object() map[string]any {
	return map[string]any{"accumulator": s.accumulator, "current": s.current}
}

// Reference: certlogic-js evaluator.ts evaluateReduce: a null operand
// gives the initial value.
func (n reduceNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("reduce"); err != nil {
		return nil, err
	}
	v, err := n.operand.eval(ev, data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return n.initial.eval(ev, data)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, evalErr("reduce", "operand of reduce evaluated to a non-null non-array")
	}
	acc, err := n.initial.eval(ev, data)
	if err != nil {
		return nil, err
	}
	for _, cur := range arr {
		if s, ok := acc.(*reduceScope); ok {
			acc = s.object()
		}
		if acc, err = n.lambda.eval(ev, &reduceScope{accumulator: acc, current: cur}); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

type extractNode struct {
	operand node
	index   float64
}

// Reference: certlogic-js internals.ts extractFromUVCI.
func (n extractNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("extractFromUVCI"); err != nil {
		return nil, err
	}
	v, err := n.operand.eval(ev, data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, evalErr("extractFromUVCI", `"UVCI" argument (#1) of "extractFromUVCI" must be either a string or null`)
	}
	if n.index < 0 {
		return nil, nil
	}
	s = strings.TrimPrefix(s, "URN:UVCI:")
	idx := n.index
	for {
		i := strings.IndexAny(s, "/#:")
		if idx == 0 {
			if i < 0 {
				return s, nil
			}
			return s[:i], nil
		}
		if i < 0 {
			return nil, nil
		}
		s, idx = s[i+1:], idx-1
	}
}

type dobNode struct{ operand node }

func (n dobNode) eval(ev *evaluator, data any) (any, error) {
	if err := ev.step("dccDateOfBirth"); err != nil {
		return nil, err
	}
	v, err := n.operand.eval(ev, data)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, evalErr("dccDateOfBirth", `operand of "dccDateOfBirth" must be a string`)
	}
	dt, err := dccDateOfBirth(s)
	if err != nil {
		return nil, evalErr("dccDateOfBirth", err.Error())
	}
	return dt, nil
}
