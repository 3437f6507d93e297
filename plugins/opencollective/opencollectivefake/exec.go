package opencollectivefake

import (
	"errors"
	"github.com/vektah/gqlparser/v2/ast"
)

// obj is a GraphQL object: field name to value, where a value may be a
// resolver computed from the field's arguments. Fields a query selects but
// the fake does not know answer null. "__typename" names the object type,
// for __typename and for fragments on interfaces.
type obj map[string]any

// resolver computes a field from its (coerced, defaulted) arguments. A
// *gqlError it returns becomes an entry of the answer's errors.
type resolver func(args map[string]any) (any, error)

// gqlError is an error in a field, answered in a 200 response like Open
// Collective's: a message and an extensions code such as "Unauthorized",
// "Forbidden" or "NotFound".
type gqlError struct {
	Message string
	Code    string
}

func (e *gqlError) Error() string { return e.Message }

// executor answers one validated operation by projecting its selection
// sets onto objects: the shapes come from the query, which the schema
// already checked, so the fake only has to know the values.
type executor struct {
	schema *ast.Schema
	vars   map[string]any
	errs   []map[string]any
}

// run executes the operation on root and returns its data, which is null
// when a non-null root field failed.
func (x *executor) run(root obj, op *ast.OperationDefinition) any {
	data := map[string]any{}
	nullData := false
	x.collect(root, op.SelectionSet, func(f *ast.Field) {
		v, ok := x.field(root, f, []any{f.Alias})
		data[f.Alias] = v
		if !ok && f.Definition != nil && f.Definition.Type.NonNull {
			nullData = true
		}
	})
	if nullData {
		return nil
	}
	return data
}

// field resolves one field of o and completes it with the field's
// selections; ok is false when the field failed.
func (x *executor) field(o obj, f *ast.Field, path []any) (any, bool) {
	if f.Name == "__typename" {
		return o["__typename"], true
	}
	v := o[f.Name]
	if r, isResolver := v.(resolver); isResolver {
		var err error
		v, err = r(x.arguments(f.Definition, f.Arguments))
		if err != nil {
			x.fail(err, f, path)
			return nil, false
		}
	}
	return x.complete(v, f.SelectionSet, path), true
}

// complete projects a value onto a selection set: objects field by field,
// lists element by element, scalars (including JSON) as they are.
func (x *executor) complete(v any, set ast.SelectionSet, path []any) any {
	if len(set) == 0 {
		return v
	}
	switch v := v.(type) {
	case obj:
		out := map[string]any{}
		x.collect(v, set, func(f *ast.Field) {
			out[f.Alias], _ = x.field(v, f, append(path[:len(path):len(path)], f.Alias))
		})
		return out
	case []obj:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = x.complete(e, set, append(path[:len(path):len(path)], i))
		}
		return out
	default:
		return v
	}
}

// collect calls fn for every field of set that applies to o, walking into
// inline fragments and fragment spreads whose type condition o meets, and
// honouring @skip and @include.
func (x *executor) collect(o obj, set ast.SelectionSet, fn func(*ast.Field)) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if x.included(s.Directives) {
				fn(s)
			}
		case *ast.InlineFragment:
			if x.included(s.Directives) && x.applies(o, s.TypeCondition) {
				x.collect(o, s.SelectionSet, fn)
			}
		case *ast.FragmentSpread:
			if x.included(s.Directives) && s.Definition != nil && x.applies(o, s.Definition.TypeCondition) {
				x.collect(o, s.Definition.SelectionSet, fn)
			}
		}
	}
}

// applies reports whether an object meets a fragment's type condition: its
// own type, or an interface or union it belongs to.
func (x *executor) applies(o obj, cond string) bool {
	typename, _ := o["__typename"].(string)
	if cond == "" || cond == typename {
		return true
	}
	if x.schema == nil {
		return false // without the schema, interfaces and unions are unknown
	}
	def := x.schema.Types[cond]
	if def == nil {
		return false
	}
	for _, t := range x.schema.GetPossibleTypes(def) {
		if t.Name == typename {
			return true
		}
	}
	return false
}

func (x *executor) included(ds ast.DirectiveList) bool {
	if d := ds.ForName("skip"); d != nil && x.directiveArguments(d)["if"] == true {
		return false
	}
	if d := ds.ForName("include"); d != nil && x.directiveArguments(d)["if"] == false {
		return false
	}
	return true
}

func (x *executor) directiveArguments(d *ast.Directive) map[string]any {
	if d.Definition != nil {
		return d.ArgumentMap(x.vars)
	}
	return x.arguments(nil, d.Arguments)
}

// arguments gives a field's arguments with the schema's defaults filled in,
// or, when the fake runs without the schema (def is nil), as written.
func (x *executor) arguments(def *ast.FieldDefinition, args ast.ArgumentList) map[string]any {
	if def != nil {
		return (&ast.Field{Definition: def, Arguments: args}).ArgumentMap(x.vars)
	}
	out := map[string]any{}
	for _, a := range args {
		if v, err := a.Value.Value(x.vars); err == nil {
			out[a.Name] = v
		}
	}
	return out
}

// fail records a field error in the shape Open Collective answers.
func (x *executor) fail(err error, f *ast.Field, path []any) {
	code := "INTERNAL_SERVER_ERROR"
	if e, ok := errors.AsType[*gqlError](err); ok && e.Code != "" {
		code = e.Code
	}
	entry := map[string]any{"message": err.Error(), "path": path, "extensions": map[string]any{"code": code}}
	if f.Position != nil {
		entry["locations"] = []map[string]int{{"line": f.Position.Line, "column": f.Position.Column}}
	}
	x.errs = append(x.errs, entry)
}
