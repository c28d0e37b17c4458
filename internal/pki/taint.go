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
	"strings"
	"text/template/parse"
)

// vouchedRequestFields are the fields of RequestData that the requester
// does not choose: the namespace of the request, who created a Kubernetes
// CSR as the API server recorded it, and the pod behind a
// PodCertificateRequest, which the API server checked. A template may use them
// and stay trusted.
var vouchedRequestFields = map[string]bool{
	"Namespace": true, "Username": true, "Groups": true,
	"PodName": true, "PodUID": true, "ServiceAccountName": true, "ServiceAccountUID": true, "NodeName": true, "NodeUID": true,
}

// patternRequestFields are the vouched request fields an allow-list may
// use. Only the namespace: a namespace name is a DNS label, while a user
// or group name may hold '*', which a pattern would read as a wildcard
// (a user "oidc:*" allowed CNs "{{ .Request.Username }}" would match
// every oidc user).
var patternRequestFields = map[string]bool{"Namespace": true}

// templateTrusted tells whether a template field text references only
// data the requester does not control: .Vars, .Issuer and the vouched
// request fields (.Request.Namespace, .Request.Username, .Request.Groups).
// Its rendered value is then the template author's own. Any other
// reference anywhere in the text, even one that only steers an if, makes
// it untrusted, and so does any use of a variable ($, $x), a bare dot
// other than inside a with over trusted data, or a field of a
// parenthesized value: the analysis fails closed. A text without actions
// is trusted; a text that does not parse is an error.
func templateTrusted(text string) (bool, error) {
	return templateUsesOnly(text, vouchedRequestFields)
}

// patternTrusted is templateTrusted for the texts of allow-lists, which may
// use only patternRequestFields of the request.
func patternTrusted(text string) (bool, error) {
	return templateUsesOnly(text, patternRequestFields)
}

// templateUsesOnly tells whether text references only .Vars, .Issuer and
// the given fields of .Request.
func templateUsesOnly(text string, vouched map[string]bool) (bool, error) {
	if !strings.Contains(text, "{{") {
		return true, nil
	}
	t, err := parseTemplate("taint", text, &budget{})
	if err != nil {
		return false, err
	}
	if t.Tree == nil || t.Root == nil {
		return true, nil
	}
	return trustedNode(t.Root, scope{root: true, vouched: vouched}), nil
}

// scope is what dot is where a node is evaluated.
type scope struct {
	// root: dot is the RenderData, so fields are checked by their path.
	root bool
	// trusted: dot is a value derived from trusted data only (inside a
	// with whose pipeline is trusted), so all of it is trusted.
	trusted bool
	// vouched are the fields of .Request that count as trusted.
	vouched map[string]bool
}

// trustedNode tells whether n references only trusted data when dot is
// as s says. Node kinds it does not know are untrusted.
func trustedNode(n parse.Node, s scope) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		return n == nil || allTrusted(n.Nodes, s)
	case *parse.TextNode, *parse.CommentNode, *parse.IdentifierNode,
		*parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return true
	case *parse.ActionNode:
		return trustedNode(n.Pipe, s)
	case *parse.PipeNode:
		// Declarations need no check: every use of a variable is
		// untrusted.
		if n == nil {
			return true
		}
		for _, c := range n.Cmds {
			if !trustedNode(c, s) {
				return false
			}
		}
		return true
	case *parse.CommandNode:
		return allTrusted(n.Args, s)
	case *parse.IfNode:
		return trustedNode(n.Pipe, s) && trustedNode(n.List, s) && trustedNode(n.ElseList, s)
	case *parse.WithNode:
		// Inside, dot is the pipeline's value; in the else branch it is
		// unchanged.
		pipe := trustedNode(n.Pipe, s)
		return pipe && trustedNode(n.List, scope{trusted: true, vouched: s.vouched}) && trustedNode(n.ElseList, s)
	case *parse.FieldNode:
		if s.root {
			return trustedPath(n.Ident, s.vouched)
		}
		return s.trusted
	case *parse.DotNode:
		return s.trusted
	}
	// VariableNode, ChainNode, and the actions parseTemplate rejects.
	return false
}

// allTrusted tells whether every node of nodes is trusted.
func allTrusted(nodes []parse.Node, s scope) bool {
	for _, c := range nodes {
		if !trustedNode(c, s) {
			return false
		}
	}
	return true
}

// trustedPath tells whether a field path from the RenderData, e.g.
// [Request Namespace], leads to trusted data.
func trustedPath(path []string, vouched map[string]bool) bool {
	switch {
	case len(path) == 0:
		return false
	case path[0] == "Vars" || path[0] == "Issuer":
		return true
	case path[0] == "Request":
		return len(path) >= 2 && vouched[path[1]]
	}
	return false
}
