/*
Copyright 2026 The nstance-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package pki

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"
)

// Render limits. Templates are written by tenants, so everything a
// template can make the controller allocate is bounded.
const (
	// MaxTemplateSize bounds the text of one template field.
	MaxTemplateSize = 16384
	// MaxVars bounds the entries of an issuer's vars.
	MaxVars = 64
	// MaxVarValueSize bounds the bytes of one var's value.
	MaxVarValueSize = 1024
	// MaxTemplateNesting bounds how deep a template nests parentheses
	// and if/with blocks: parsing and executing recurse once per level,
	// and 16 KiB of "(" would otherwise cost megabytes of stack a call.
	MaxTemplateNesting = 32

	// requestRenderBudget bounds the bytes that rendering all the template
	// fields of one issuance may allocate: the values template functions
	// produce (intermediate ones included) and the rendered output.
	requestRenderBudget = 1 << 20
	// fieldRenderBudget bounds the part of the request budget that one
	// field may spend, so that the error names the field that spends it.
	fieldRenderBudget = 256 * 1024
)

// maxSplitParts bounds the result of split.
const maxSplitParts = 1024

var (
	errOutputTooLarge = fmt.Errorf("rendered output exceeds %d bytes", MaxRenderedSize)
	errFieldBudget    = fmt.Errorf("rendering this field used more than %d bytes; simplify the template", fieldRenderBudget)
	errRequestBudget  = fmt.Errorf("template rendering for this request used more than %d bytes; simplify the template", requestRenderBudget)
)

// forbiddenFuncs are text/template builtins a template may not call: call
// could run arbitrary functions, and the escapers can grow their input
// several times over per nesting level.
var forbiddenFuncs = map[string]bool{"call": true, "html": true, "js": true, "urlquery": true}

// validVarName reports whether k may be a key of vars: an ASCII Go
// identifier, so that .Vars.Key works, of at most 63 bytes; what the
// regular expression ^[A-Za-z_][A-Za-z0-9_]{0,62}$ matches. It is checked
// for every var of every request, so it is written out: Go's regexp took
// about 0.2 µs for a 3-byte name and 6 µs for a 63-byte one.
func validVarName(k string) bool {
	if len(k) == 0 || len(k) > 63 {
		return false
	}
	for i := range len(k) {
		c := k[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// checkVars checks an issuer's vars against the render limits: at most
// MaxVars entries, keys that are identifiers of at most 63 bytes, values
// of at most MaxVarValueSize bytes of valid UTF-8. Vars are checked
// before anything is rendered with them. The error's Template is "vars"
// and its Field the key (quoted, and shortened, when the key is bad).
func checkVars(vars map[string]string) *TemplateError {
	if len(vars) > MaxVars {
		return templateErrorf("vars", "", "%d vars are set, more than the %d allowed", len(vars), MaxVars)
	}
	ok := true
	for k, v := range vars {
		if !validVarName(k) || len(v) > MaxVarValueSize || !utf8.ValidString(v) {
			ok = false
			break
		}
	}
	if ok {
		return nil
	}
	// Report the first bad var in the order of their names.
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		v := vars[k]
		switch {
		case !validVarName(k):
			return templateErrorf("vars", quote(k), "a var name must be a letter or underscore followed by at most 62 letters, digits or underscores")
		case len(v) > MaxVarValueSize:
			return templateErrorf("vars", k, "the value is %d bytes, more than the %d allowed", len(v), MaxVarValueSize)
		case !utf8.ValidString(v):
			return templateErrorf("vars", k, "the value is not valid UTF-8")
		}
	}
	return nil
}

// ParseTemplate validates one template field text: it must parse as a Go
// text/template with the safe function set, and must not use range,
// define, template, block, break, continue or the call, html, js and
// urlquery functions, so that executing it takes time linear in its size.
// The error is a *TemplateError naming the field.
func ParseTemplate(name, text string) error {
	if _, err := parseTemplate(name, text, &budget{}); err != nil {
		return &TemplateError{Template: name, Msg: err.Error()}
	}
	return nil
}

// Render executes the template text over data and returns the output,
// which is at most MaxRenderedSize bytes. name is used in messages, e.g.
// "web.cn". The request data is only ever a value of the template: it is
// never parsed as a template. The error is a *TemplateError. Each call has
// a request budget of its own.
//
// The functions are: lower, upper, trim (spaces), trimPrefix PREFIX,
// trimSuffix SUFFIX, replace OLD NEW (all occurrences), join SEP, split SEP,
// default DEFAULT (DEFAULT when the piped value is empty), hasPrefix PREFIX,
// hasSuffix SUFFIX, first (first element of a list, or ""), truncate N
// (first N characters), and the builtins and, or, not, eq, ne, lt, le, gt,
// ge, len, index, slice, print, println and printf. The print functions,
// and the printing of a value, accept strings, numbers, booleans, and
// lists and maps of strings. A missing key of .Vars is an error; write
// (index .Vars "Key") for an optional one.
func Render(name, text string, data RenderData) (string, error) {
	out, err := render(name, text, data, nil)
	if err != nil {
		return "", &TemplateError{Template: name, Msg: err.Error()}
	}
	return out, nil
}

// renderField renders one field of a named template, drawing on rb, the
// budget of the issuance (nil: a fresh one).
func renderField(tmplName, field, text string, data RenderData, rb *requestBudget) (string, *TemplateError) {
	out, err := render(field, text, data, rb)
	if err != nil {
		return "", &TemplateError{Template: tmplName, Field: field, Msg: err.Error()}
	}
	return out, nil
}

// render executes text over data. What the execution allocates, output
// included, is taken from rb (nil: a fresh request budget). A text
// without actions is returned as is and costs nothing.
func render(name, text string, data RenderData, rb *requestBudget) (string, error) {
	if !strings.Contains(text, "{{") {
		if len(text) > MaxRenderedSize {
			return "", errOutputTooLarge
		}
		return text, nil
	}
	if rb == nil {
		rb = newRequestBudget()
	}
	t, err := parsedTemplates.get(name, text, rb)
	if err != nil {
		return "", err
	}
	defer parsedTemplates.put(t, rb)
	w := &cappedWriter{max: MaxRenderedSize, budget: t.budget}
	if err := t.Execute(w, data); err != nil {
		for _, known := range []error{errOutputTooLarge, errFieldBudget, errRequestBudget} {
			if errors.Is(err, known) {
				return "", known
			}
		}
		return "", errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	return string(w.buf), nil
}

// requestBudget is what rendering the templates of one issuance may
// still allocate, in bytes. Every execution draws on it. It is not safe
// for concurrent use: an issuance renders its fields one after another.
type requestBudget struct{ left int }

// newRequestBudget returns the budget of one issuance.
func newRequestBudget() *requestBudget { return &requestBudget{left: requestRenderBudget} }

// budget counts the bytes one execution may still allocate. Its limit is
// the smaller of fieldRenderBudget and what is left of the request's;
// the zero budget allows nothing.
type budget struct {
	left, limit int
	// byRequest is true when the request budget set the limit, to say
	// so in the error.
	byRequest bool
}

// start gives b the share of rb that one execution may spend.
func (b *budget) start(rb *requestBudget) {
	b.limit, b.byRequest = fieldRenderBudget, false
	if rb.left < fieldRenderBudget {
		b.limit, b.byRequest = max(rb.left, 0), true
	}
	b.left = b.limit
}

// used is what b has spent since start.
func (b *budget) used() int { return b.limit - b.left }

// take spends n bytes, or fails and spends all that is left.
func (b *budget) take(n int) error {
	if n < 0 || n > b.left {
		b.left = 0
		if b.byRequest {
			return errRequestBudget
		}
		return errFieldBudget
	}
	b.left -= n
	return nil
}

// take64 is take for a size computed in 64 bits.
func (b *budget) take64(n int64) error {
	if n > int64(b.left) {
		return b.take(-1)
	}
	return b.take(int(n))
}

// parsedTemplates keeps parsed templates for reuse: parsing, and above all
// binding the function set, costs more than executing (16 µs against a
// few). A parsed template's functions are bound to its own budget, so one
// is used by one execution at a time: each (name, text) has a pool; get
// starts the budget of the template it hands out from the request budget,
// and put charges what the execution spent to the request budget. The
// cache holds at most 4 MiB of texts.
var parsedTemplates = &templateCache{max: 4 << 20}

type templateCache struct {
	pools sync.Map // name + "\x00" + text → *sync.Pool of *boundTemplate
	size  atomic.Int64
	// max bounds the bytes of the distinct (name, text) keys kept: texts
	// come from issuers, which tenants write, so the bound is in bytes,
	// not entries. Past it the cache starts afresh.
	max int64
}

// boundTemplate is a parsed template and the budget its functions draw on.
type boundTemplate struct {
	*template.Template
	budget *budget
	key    string
}

// get returns the parsed template of (name, text), its budget started
// from rb.
func (c *templateCache) get(name, text string, rb *requestBudget) (*boundTemplate, error) {
	key := name + "\x00" + text
	if p, ok := c.pools.Load(key); ok {
		if t, _ := p.(*sync.Pool).Get().(*boundTemplate); t != nil {
			t.budget.start(rb)
			return t, nil
		}
	}
	b := &budget{}
	t, err := parseTemplate(name, text, b)
	if err != nil {
		return nil, err
	}
	b.start(rb)
	return &boundTemplate{Template: t, budget: b, key: key}, nil
}

// put charges what t spent to rb and keeps t for reuse.
func (c *templateCache) put(t *boundTemplate, rb *requestBudget) {
	rb.left -= t.budget.used()
	p, loaded := c.pools.LoadOrStore(t.key, &sync.Pool{})
	if !loaded && c.size.Add(int64(len(t.key))) > c.max {
		// Issuers' template texts change only when they are edited: a
		// cache this large holds mostly old texts. Start afresh. (The
		// parsed templates in the pools are freed by the GC anyway.)
		c.pools.Clear()
		c.size.Store(0)
		return
	}
	p.(*sync.Pool).Put(t)
}

// parseTemplate parses text with the function set bound to b, rejects
// the actions that could loop or recurse, and makes every action that
// prints a value print it through the bounded print function.
func parseTemplate(name, text string, b *budget) (*template.Template, error) {
	if len(text) > MaxTemplateSize {
		return nil, fmt.Errorf("template text is %d bytes, more than the %d allowed", len(text), MaxTemplateSize)
	}
	if d := parenDepth(text); d > MaxTemplateNesting {
		return nil, fmt.Errorf("template nests parentheses %d deep, more than the %d allowed", d, MaxTemplateNesting)
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(funcMap(b)).Parse(text)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	for _, other := range t.Templates() {
		if other.Name() != name {
			return nil, fmt.Errorf("define and block are not allowed (found template %q)", other.Name())
		}
	}
	if t.Tree == nil || t.Root == nil {
		return t, nil
	}
	if d := nodeDepth(t.Root); d > MaxTemplateNesting {
		return nil, fmt.Errorf("template nests blocks and pipelines %d deep, more than the %d allowed", d, MaxTemplateNesting)
	}
	if err := checkNode(t.Root); err != nil {
		return nil, err
	}
	printThroughPrint(t.Tree, t.Root)
	return t, nil
}

// parenDepth is the deepest nesting of parentheses inside the actions of
// a template text ("{{" to "}}"), outside quoted strings and character
// constants. It runs before the parser, whose recursion it bounds.
func parenDepth(text string) int {
	maxDepth := 0
	for {
		start := strings.Index(text, "{{")
		if start < 0 {
			return maxDepth
		}
		text = text[start+2:]
		if rest := strings.TrimLeft(strings.TrimPrefix(text, "-"), " \t\r\n"); strings.HasPrefix(rest, "/*") {
			// A comment ends at the first "*/"; its quotes are text.
			_, after, ok := strings.Cut(rest, "*/")
			if !ok {
				return maxDepth
			}
			text = after
			continue
		}
		depth := 0
		var quote byte
	action:
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case quote != 0:
				if c == '\\' && quote != '`' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '`' || c == '\'':
				quote = c
			case c == '(':
				depth++
				maxDepth = max(maxDepth, depth)
			case c == ')':
				depth--
			case c == '}' && strings.HasPrefix(text[i:], "}}"):
				text = text[i+2:]
				break action
			}
			if i == len(text)-1 {
				return maxDepth
			}
		}
	}
}

// nodeDepth is how deep a parse tree nests, counting lists, branches,
// pipelines and commands: what executing and walking it recurses through.
func nodeDepth(n parse.Node) int {
	deepest := 0
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		for _, c := range n.Nodes {
			deepest = max(deepest, nodeDepth(c))
		}
		return deepest // a list is not a level of its own
	case *parse.ActionNode:
		deepest = nodeDepth(n.Pipe)
	case *parse.IfNode:
		deepest = max(nodeDepth(n.Pipe), nodeDepth(n.List), nodeDepth(n.ElseList))
	case *parse.WithNode:
		deepest = max(nodeDepth(n.Pipe), nodeDepth(n.List), nodeDepth(n.ElseList))
	case *parse.RangeNode:
		deepest = max(nodeDepth(n.Pipe), nodeDepth(n.List), nodeDepth(n.ElseList))
	case *parse.PipeNode:
		if n == nil {
			return 0
		}
		for _, c := range n.Cmds {
			deepest = max(deepest, nodeDepth(c))
		}
		return deepest // a pipeline's commands are its level
	case *parse.CommandNode:
		for _, a := range n.Args {
			deepest = max(deepest, nodeDepth(a))
		}
	case *parse.ChainNode:
		deepest = nodeDepth(n.Node)
	default:
		return 0
	}
	return deepest + 1
}

// printThroughPrint appends "| print" to every action that prints its
// value: text/template prints a value with fmt, which formats the whole
// value before the output writer can refuse it; print charges the
// budget first. (print of one value is what text/template prints.)
func printThroughPrint(tree *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			printThroughPrint(tree, c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 {
			return // an assignment prints nothing
		}
		ident := parse.NewIdentifier("print").SetTree(tree).SetPos(n.Pos)
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{ident}})
	case *parse.IfNode:
		printThroughPrint(tree, n.List)
		printThroughPrint(tree, n.ElseList)
	case *parse.WithNode:
		printThroughPrint(tree, n.List)
		printThroughPrint(tree, n.ElseList)
	}
}

// checkNode walks the parse tree and rejects forbidden actions.
func checkNode(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkNode(n.Pipe)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return errors.New("range is not allowed: templates may not loop")
	case *parse.TemplateNode:
		return errors.New("template and block are not allowed")
	case *parse.BreakNode, *parse.ContinueNode:
		return errors.New("break and continue are not allowed")
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := checkNode(a); err != nil {
				return err
			}
		}
	case *parse.ChainNode:
		return checkNode(n.Node)
	case *parse.IdentifierNode:
		if forbiddenFuncs[n.Ident] {
			return fmt.Errorf("function %s is not allowed", n.Ident)
		}
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	if err := checkNode(b.Pipe); err != nil {
		return err
	}
	if err := checkNode(b.List); err != nil {
		return err
	}
	return checkNode(b.ElseList)
}

// cappedWriter collects output, charging it to budget, and fails past max
// bytes.
type cappedWriter struct {
	buf    []byte
	max    int
	budget *budget
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, errOutputTooLarge
	}
	if err := w.budget.take(len(p)); err != nil {
		return 0, err
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func funcMap(b *budget) template.FuncMap {
	forbidden := func(name string) func(...any) (string, error) {
		return func(...any) (string, error) { return "", fmt.Errorf("function %s is not allowed", name) }
	}
	return template.FuncMap{
		"lower": func(s string) (string, error) {
			if err := b.take(caseMappedSize(s)); err != nil {
				return "", err
			}
			return strings.ToLower(s), nil
		},
		"upper": func(s string) (string, error) {
			if err := b.take(caseMappedSize(s)); err != nil {
				return "", err
			}
			return strings.ToUpper(s), nil
		},
		"trim":       strings.TrimSpace,
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"replace": func(old, repl, s string) (string, error) {
			var n int
			if old == "" {
				n = utf8.RuneCountInString(s) + 1
			} else {
				n = strings.Count(s, old)
			}
			size := int64(len(s)) + int64(n)*int64(len(repl)-len(old))
			if err := b.take64(size); err != nil {
				return "", err
			}
			return strings.ReplaceAll(s, old, repl), nil
		},
		"join": func(sep string, items []string) (string, error) {
			size := int64(len(sep)) * int64(max(len(items)-1, 0))
			for _, s := range items {
				size += int64(len(s))
			}
			if err := b.take64(size); err != nil {
				return "", err
			}
			return strings.Join(items, sep), nil
		},
		"split": func(sep, s string) ([]string, error) {
			n := strings.Count(s, sep) + 1
			if sep == "" {
				n = utf8.RuneCountInString(s)
			}
			if n > maxSplitParts {
				return nil, fmt.Errorf("split gives more than %d parts", maxSplitParts)
			}
			if err := b.take(16 * n); err != nil {
				return nil, err
			}
			return strings.Split(s, sep), nil
		},
		"default": func(def, s string) string {
			if s == "" {
				return def
			}
			return s
		},
		"first": func(items []string) string {
			if len(items) == 0 {
				return ""
			}
			return items[0]
		},
		"truncate": func(n int, s string) (string, error) {
			if n < 0 {
				return "", fmt.Errorf("truncate needs a length of 0 or more, not %d", n)
			}
			for i := range s {
				if n == 0 {
					return s[:i], nil
				}
				n--
			}
			return s, nil
		},
		"print": func(args ...any) (string, error) {
			if s, ok := loneString(args); ok {
				// What text/template prints: it copies s once.
				if err := b.take(len(s)); err != nil {
					return "", err
				}
				return s, nil
			}
			if err := b.chargePrint(printBound("print", args)); err != nil {
				return "", err
			}
			return fmt.Sprint(args...), nil
		},
		"println": func(args ...any) (string, error) {
			if err := b.chargePrint(printBound("println", args)); err != nil {
				return "", err
			}
			return fmt.Sprintln(args...), nil
		},
		"printf": func(format string, args ...any) (string, error) {
			if err := checkFormat(format); err != nil {
				return "", err
			}
			if err := b.chargePrint(printfBound(format, args)); err != nil {
				return "", err
			}
			return fmt.Sprintf(format, args...), nil
		},
		"call":     forbidden("call"),
		"html":     forbidden("html"),
		"js":       forbidden("js"),
		"urlquery": forbidden("urlquery"),
	}
}

// caseMappedSize bounds the size of s in another case: ASCII keeps its
// size; otherwise a rune may grow, and an invalid byte becomes the
// 3-byte U+FFFD.
func caseMappedSize(s string) int {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return 3 * len(s)
		}
	}
	return len(s)
}

// Printing is charged before fmt runs, from an upper bound of the output
// computed from the arguments and the format: fmt builds its whole output
// in a buffer of its own, and a width applies to every element of a list.
// Arguments of other types, whose output cannot be bounded, are refused.

// fmtCopies bounds the bytes fmt allocates per byte of output: it grows
// its buffer as it writes, then copies it into the result (2 to 4 bytes
// measured).
const fmtCopies = 4

// fmtOverhead bounds what fmt adds around one formatted value or verb: a
// 0x prefix, quotes, brackets, or a %!d(string=...) or %!v(MISSING)
// note.
const fmtOverhead = 40

// maxScalarSize bounds the formatting of an integer, boolean or duration
// without width or precision, wrapper included: %b of math.MinInt64 is
// 65 bytes, %!s(int64=-9223372036854775808) 32.
const maxScalarSize = 66

// maxFloatSize bounds the formatting of a float without width or
// precision, wrapper included: %f of math.MaxFloat64 has 309 digits.
const maxFloatSize = 330

// loneString returns the string that print of args is, when args is one
// string.
func loneString(args []any) (string, bool) {
	if len(args) != 1 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// chargePrint takes fmtCopies times a print function's bound from b, or
// returns the bound's error.
func (b *budget) chargePrint(bound int64, err error) error {
	if err != nil {
		return err
	}
	return b.take64(fmtCopies * bound)
}

// printBound bounds the output of fmt.Sprint or fmt.Sprintln of args:
// each formatted with %v, and a separator after each. fn names the
// function in the error for an argument of a type it cannot bound.
func printBound(fn string, args []any) (int64, error) {
	n := int64(fmtOverhead)
	for _, a := range args {
		m, ok := argBound(a, verbSpec{verb: 'v'})
		if !ok {
			return 0, fmt.Errorf("%s accepts strings, numbers, booleans, and lists or maps of strings, not %T", fn, a)
		}
		n += m + 1
	}
	return n, nil
}

// printfBound bounds the output of fmt.Sprintf(format, args...): the text
// of the format; for every verb, the largest argument formatted with it
// (an argument index can reuse any argument), or a %!v(MISSING)-like
// note; and every argument once more with %v, for the %!(EXTRA ...) list
// of unused ones.
func printfBound(format string, args []any) (int64, error) {
	n, err := printBound("printf", args)
	if err != nil {
		return 0, err
	}
	n += int64(len(format))
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			break
		}
		spec, next := scanVerb(format, i+j+1)
		var most int64
		for _, a := range args {
			m, _ := argBound(a, spec)
			most = max(most, m)
		}
		n += most + fmtOverhead
		i = next
	}
	return n, nil
}

// argBound bounds the output of formatting a with spec; ok is false for
// a type whose output it cannot bound.
func argBound(a any, spec verbSpec) (n int64, ok bool) {
	switch a := a.(type) {
	case string:
		return spec.piece(int64(len(a))), true
	case []string:
		n = fmtOverhead // [] or []string{}
		for _, e := range a {
			n += 2 + spec.piece(int64(len(e)))
		}
		return n, true
	case map[string]string:
		n = fmtOverhead // map[] or map[string]string{}
		for k, v := range a {
			n += 3 + spec.piece(int64(len(k))) + spec.piece(int64(len(v)))
		}
		return n, true
	case bool, time.Duration, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return spec.piece(maxScalarSize), true
	case float32, float64:
		return spec.piece(maxFloatSize), true
	}
	return 0, false
}

// verbSpec is one printf verb as fmt reads it.
type verbSpec struct {
	// verb is the verb; 0 when the format ends first.
	verb rune
	// sharp is the # flag.
	sharp bool
	// star is true when a width or precision is *: taken from an argument.
	star bool
	// width and precision are the digits written, "" when absent.
	width, precision string
}

// piece bounds one value of size bytes formatted with s: a width pads
// (it counts runes, so it adds to the size), a precision can only add
// zeros to a number, the verb can expand each byte, and any verb but %s
// and %v can add a prefix, quotes or a %!d(string=...) wrapper.
func (s verbSpec) piece(size int64) int64 {
	n := fmtNumber(s.width) + fmtNumber(s.precision) + s.expansion()*size
	if s.verb == 's' || s.verb == 'v' && !s.sharp {
		return n
	}
	return n + fmtOverhead
}

// expansion bounds how many bytes one byte of a string becomes: %q and
// %#v quote (\U0010ffff is 10 bytes for 4), "% #x" writes "0x61 " for a.
func (s verbSpec) expansion() int64 {
	switch {
	case s.verb == 'q' || s.verb == 'v' && s.sharp:
		return 10
	case s.verb == 'x' || s.verb == 'X':
		return 5
	}
	return 1
}

// scanVerb reads the verb whose '%' is at format[i-1] as fmt's doPrintf
// does (flags, [n], width or *, '.', [n], precision or *, [n], the verb),
// and returns it and the index after it.
func scanVerb(format string, i int) (s verbSpec, next int) {
	for ; i < len(format) && strings.IndexByte("#0+- ", format[i]) >= 0; i++ {
		s.sharp = s.sharp || format[i] == '#'
	}
	i, indexed := scanArgIndex(format, i)
	if i < len(format) && format[i] == '*' {
		s.star, i, indexed = true, i+1, false
	} else {
		s.width, i, _ = scanNumber(format, i)
	}
	if i+1 < len(format) && format[i] == '.' {
		i, indexed = scanArgIndex(format, i+1)
		if i < len(format) && format[i] == '*' {
			s.star, i, indexed = true, i+1, false
		} else {
			s.precision, i, _ = scanNumber(format, i)
		}
	}
	if !indexed {
		i, _ = scanArgIndex(format, i)
	}
	if i >= len(format) {
		return s, i
	}
	verb, size := utf8.DecodeRuneInString(format[i:])
	s.verb = verb
	return s, i + size
}

// scanArgIndex skips an argument index [n] at format[i:] as fmt's
// argNumber does: an unclosed '[' is one byte, a bad index runs to the
// first ']'; found is true for a well-formed index.
func scanArgIndex(format string, i int) (next int, found bool) {
	if i >= len(format) || format[i] != '[' {
		return i, false
	}
	if len(format)-i < 3 {
		return i + 1, false
	}
	end := strings.IndexByte(format[i+1:], ']')
	if end < 0 {
		return i + 1, false
	}
	end += i + 1
	_, after, ok := scanNumber(format[:end], i+1)
	return end + 1, ok && after == end
}

// scanNumber reads the digits at format[i:] as fmt's parsenum does, which
// on an overlong number gives up and skips to the end of the format (ok
// is then false); digits are those written.
func scanNumber(format string, i int) (digits string, next int, ok bool) {
	num := 0
	for next = i; next < len(format) && '0' <= format[next] && format[next] <= '9'; next++ {
		if num > 1e6 {
			for next < len(format) && '0' <= format[next] && format[next] <= '9' {
				next++
			}
			return format[i:next], len(format), false
		}
		num = num*10 + int(format[next]-'0')
	}
	return format[i:next], next, next > i
}

// fmtNumber is the value of a width or precision, saturated at 1e7 (fmt
// takes none past 1e6).
func fmtNumber(digits string) int64 {
	if len(digits) > 7 {
		return 1e7
	}
	return int64(atoi(digits))
}

// checkFormat rejects printf formats whose width or precision could
// allocate more than MaxRenderedSize bytes, and '*' widths and
// precisions, which take their value from an argument.
func checkFormat(format string) error {
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			return nil
		}
		spec, next := scanVerb(format, i+j+1)
		if spec.star {
			return errors.New("printf: '*' width and precision are not allowed")
		}
		for _, n := range []string{spec.width, spec.precision} {
			if len(n) > 4 || atoi(n) > MaxRenderedSize {
				return fmt.Errorf("printf: width or precision %s is larger than %d", n, MaxRenderedSize)
			}
		}
		i = next
	}
	return nil
}

func atoi(s string) int {
	n := 0
	for _, c := range []byte(s) {
		n = n*10 + int(c-'0')
	}
	return n
}
