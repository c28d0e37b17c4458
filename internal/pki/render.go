package pki

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// MaxTemplateSize bounds the text of one template field.
const MaxTemplateSize = 16384

// renderBudget bounds the bytes that template functions may produce in one
// execution, intermediate values included, so that nesting functions cannot
// grow memory exponentially (e.g. replace "" inside replace "").
const renderBudget = 256 * 1024

// maxSplitParts bounds the result of split.
const maxSplitParts = 1024

var (
	errOutputTooLarge = fmt.Errorf("rendered output exceeds %d bytes", MaxRenderedSize)
	errBudget         = fmt.Errorf("template functions produced more than %d bytes; simplify the template", renderBudget)
)

// forbiddenFuncs are text/template builtins a template may not call: call
// could run arbitrary functions, and the escapers can grow their input
// several times over per nesting level.
var forbiddenFuncs = map[string]bool{"call": true, "html": true, "js": true, "urlquery": true}

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
// never parsed as a template. The error is a *TemplateError.
//
// The functions are: lower, upper, trim (spaces), trimPrefix PREFIX,
// trimSuffix SUFFIX, replace OLD NEW (all occurrences), join SEP, split SEP,
// default DEFAULT (DEFAULT when the piped value is empty), hasPrefix PREFIX,
// hasSuffix SUFFIX, first (first element of a list, or ""), truncate N
// (first N characters), and the builtins and, or, not, eq, ne, lt, le, gt,
// ge, len, index, slice, print and printf (bounded). A missing key of
// .Vars is an error; write (index .Vars "Key") for an optional one.
func Render(name, text string, data RenderData) (string, error) {
	out, err := render(name, text, data)
	if err != nil {
		return "", &TemplateError{Template: name, Msg: err.Error()}
	}
	return out, nil
}

// renderField renders one field of a named template.
func renderField(tmplName, field, text string, data RenderData) (string, *TemplateError) {
	out, err := render(field, text, data)
	if err != nil {
		return "", &TemplateError{Template: tmplName, Field: field, Msg: err.Error()}
	}
	return out, nil
}

func render(name, text string, data RenderData) (string, error) {
	if !strings.Contains(text, "{{") {
		if len(text) > MaxRenderedSize {
			return "", errOutputTooLarge
		}
		return text, nil
	}
	t, err := parsedTemplates.get(name, text)
	if err != nil {
		return "", err
	}
	defer parsedTemplates.put(t)
	w := &cappedWriter{max: MaxRenderedSize}
	if err := t.Execute(w, data); err != nil {
		switch {
		case errors.Is(err, errOutputTooLarge):
			return "", errOutputTooLarge
		case errors.Is(err, errBudget):
			return "", errBudget
		}
		return "", errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	return string(w.buf), nil
}

// parsedTemplates keeps parsed templates for reuse: parsing, and above all
// binding the function set, costs more than executing (16 µs against a
// few). A parsed template's functions are bound to its own budget, so one
// is used by one execution at a time: each (name, text) has a pool, and
// get resets the budget of the template it hands out. The cache holds at
// most 4 MiB of texts.
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

func (c *templateCache) get(name, text string) (*boundTemplate, error) {
	key := name + "\x00" + text
	if p, ok := c.pools.Load(key); ok {
		if t, _ := p.(*sync.Pool).Get().(*boundTemplate); t != nil {
			t.budget.left = renderBudget
			return t, nil
		}
	}
	b := &budget{left: renderBudget}
	t, err := parseTemplate(name, text, b)
	if err != nil {
		return nil, err
	}
	return &boundTemplate{Template: t, budget: b, key: key}, nil
}

func (c *templateCache) put(t *boundTemplate) {
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

// parseTemplate parses text with the function set bound to b and rejects
// the actions that could loop or recurse.
func parseTemplate(name, text string, b *budget) (*template.Template, error) {
	if len(text) > MaxTemplateSize {
		return nil, fmt.Errorf("template text is %d bytes, more than the %d allowed", len(text), MaxTemplateSize)
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
	if err := checkNode(t.Root); err != nil {
		return nil, err
	}
	return t, nil
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

// cappedWriter collects output and fails past max bytes.
type cappedWriter struct {
	buf []byte
	max int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, errOutputTooLarge
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// budget counts the bytes template functions may still allocate.
type budget struct{ left int }

func (b *budget) take(n int) error {
	if n < 0 || n > b.left {
		b.left = 0
		return errBudget
	}
	b.left -= n
	return nil
}

func funcMap(b *budget) template.FuncMap {
	str := func(s string, err error) (string, error) {
		if err != nil {
			return "", err
		}
		if err := b.take(len(s)); err != nil {
			return "", err
		}
		return s, nil
	}
	forbidden := func(name string) func(...any) (string, error) {
		return func(...any) (string, error) { return "", fmt.Errorf("function %s is not allowed", name) }
	}
	return template.FuncMap{
		"lower": func(s string) (string, error) {
			if err := b.take(len(s)); err != nil {
				return "", err
			}
			return strings.ToLower(s), nil
		},
		"upper": func(s string) (string, error) {
			if err := b.take(len(s)); err != nil {
				return "", err
			}
			return strings.ToUpper(s), nil
		},
		"trim":       strings.TrimSpace,
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"replace": func(old, new, s string) (string, error) {
			var n int
			if old == "" {
				n = utf8.RuneCountInString(s) + 1
			} else {
				n = strings.Count(s, old)
			}
			size := len(s) + n*(len(new)-len(old))
			if n > 0 && len(new) > len(old) && (size-len(s))/n != len(new)-len(old) {
				return "", errBudget // overflow
			}
			if err := b.take(size); err != nil {
				return "", err
			}
			return strings.ReplaceAll(s, old, new), nil
		},
		"join": func(sep string, items []string) (string, error) {
			size := len(sep) * max(len(items)-1, 0)
			for _, s := range items {
				size += len(s)
			}
			if err := b.take(size); err != nil {
				return "", err
			}
			return strings.Join(items, sep), nil
		},
		"split": func(sep, s string) ([]string, error) {
			parts := strings.SplitN(s, sep, maxSplitParts+1)
			if len(parts) > maxSplitParts {
				return nil, fmt.Errorf("split gives more than %d parts", maxSplitParts)
			}
			if err := b.take(16 * len(parts)); err != nil {
				return nil, err
			}
			return parts, nil
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
		"print":   func(args ...any) (string, error) { return str(fmt.Sprint(args...), nil) },
		"println": func(args ...any) (string, error) { return str(fmt.Sprintln(args...), nil) },
		"printf": func(format string, args ...any) (string, error) {
			if err := checkFormat(format); err != nil {
				return "", err
			}
			return str(fmt.Sprintf(format, args...), nil)
		},
		"call":     forbidden("call"),
		"html":     forbidden("html"),
		"js":       forbidden("js"),
		"urlquery": forbidden("urlquery"),
	}
}

// checkFormat rejects printf formats whose width or precision could
// allocate more than MaxRenderedSize bytes, and '*' widths.
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) {
			c := format[i]
			switch {
			case c == '*':
				return errors.New("printf: '*' width and precision are not allowed")
			case c >= '0' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				if j-i > 4 || atoi(format[i:j]) > MaxRenderedSize {
					return fmt.Errorf("printf: width or precision %s is larger than %d", format[i:j], MaxRenderedSize)
				}
				i = j
				continue
			case strings.IndexByte("+-# .[]", c) >= 0:
				i++
				continue
			}
			break // the verb, or '%'
		}
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
