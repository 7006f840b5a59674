package main

// The sprig functions stash-hooks supports, written the way Masterminds/sprig v3 defines them
// (functions.go, defaults.go, dict.go, strings.go, numeric.go, date.go; the numeric casts are
// spf13/cast v1.5's), so the goldens need no module download. Only the clock differs: `now`,
// `date` and `ago` use a fixed instant so the corpus is deterministic.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"time"
)

var fixedNow = time.Unix(1646741410, 0).UTC()

func funcMap() template.FuncMap {
	return template.FuncMap{
		"dict":         dict,
		"list":         func(v ...interface{}) []interface{} { return v },
		"get":          get,
		"set":          set,
		"hasKey":       hasKey,
		"keys":         keys,
		"toJson":       toJson,
		"toPrettyJson": toPrettyJson,
		"toString":     strval,
		"quote":        quote,
		"squote":       squote,
		"upper":        strings.ToUpper,
		"lower":        strings.ToLower,
		"title":        strings.Title,
		"trim":         strings.TrimSpace,
		"trimPrefix":   func(a, b string) string { return strings.TrimPrefix(b, a) },
		"trimSuffix":   func(a, b string) string { return strings.TrimSuffix(b, a) },
		"replace":      func(old, new, src string) string { return strings.Replace(src, old, new, -1) },
		"contains":     func(substr string, str string) bool { return strings.Contains(str, substr) },
		"hasPrefix":    func(substr string, str string) bool { return strings.HasPrefix(str, substr) },
		"hasSuffix":    func(substr string, str string) bool { return strings.HasSuffix(str, substr) },
		"join":         join,
		"split":        split,
		"splitList":    func(sep, orig string) []string { return strings.Split(orig, sep) },
		"default":      dfault,
		"empty":        empty,
		"coalesce":     coalesce,
		"ternary":      ternary,
		"now":          func() time.Time { return fixedNow },
		"date":         date,
		"ago":          dateAgo,
		"duration":     duration,
		"int":          func(v interface{}) int { return int(toInt64(v)) },
		"float64":      toFloat64,
		"add": func(i ...interface{}) int64 {
			var a int64 = 0
			for _, b := range i {
				a += toInt64(b)
			}
			return a
		},
		"sub": func(a, b interface{}) int64 { return toInt64(a) - toInt64(b) },
		"div": func(a, b interface{}) int64 { return toInt64(a) / toInt64(b) },
		"mod": func(a, b interface{}) int64 { return toInt64(a) % toInt64(b) },
		"mul": func(a interface{}, v ...interface{}) int64 {
			val := toInt64(a)
			for _, b := range v {
				val = val * toInt64(b)
			}
			return val
		},
		// stash-hooks' own: one POSIX shell word.
		"shellQuote": func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" },
	}
}

func dict(v ...interface{}) map[string]interface{} {
	dict := map[string]interface{}{}
	lenv := len(v)
	for i := 0; i < lenv; i += 2 {
		key := strval(v[i])
		if i+1 >= lenv {
			dict[key] = ""
			continue
		}
		dict[key] = v[i+1]
	}
	return dict
}

func get(d map[string]interface{}, key string) interface{} {
	if val, ok := d[key]; ok {
		return val
	}
	return ""
}

func set(d map[string]interface{}, key string, value interface{}) map[string]interface{} {
	d[key] = value
	return d
}

func hasKey(d map[string]interface{}, key string) bool {
	_, ok := d[key]
	return ok
}

func keys(dicts ...map[string]interface{}) []string {
	k := []string{}
	for _, dict := range dicts {
		for key := range dict {
			k = append(k, key)
		}
	}
	return k
}

func toJson(v interface{}) string {
	output, _ := json.Marshal(v)
	return string(output)
}

func toPrettyJson(v interface{}) string {
	output, _ := json.MarshalIndent(v, "", "  ")
	return string(output)
}

func strval(v interface{}) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprintf("%v", v)
	}
}

func quote(str ...interface{}) string {
	out := make([]string, 0, len(str))
	for _, s := range str {
		if s != nil {
			out = append(out, fmt.Sprintf("%q", strval(s)))
		}
	}
	return strings.Join(out, " ")
}

func squote(str ...interface{}) string {
	out := make([]string, 0, len(str))
	for _, s := range str {
		if s != nil {
			out = append(out, fmt.Sprintf("'%v'", s))
		}
	}
	return strings.Join(out, " ")
}

func strslice(v interface{}) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []interface{}:
		b := make([]string, 0, len(v))
		for _, s := range v {
			if s != nil {
				b = append(b, strval(s))
			}
		}
		return b
	default:
		val := reflect.ValueOf(v)
		switch val.Kind() {
		case reflect.Array, reflect.Slice:
			l := val.Len()
			b := make([]string, 0, l)
			for i := 0; i < l; i++ {
				value := val.Index(i).Interface()
				if value != nil {
					b = append(b, strval(value))
				}
			}
			return b
		default:
			if v == nil {
				return []string{}
			}
			return []string{strval(v)}
		}
	}
}

func join(sep string, v interface{}) string { return strings.Join(strslice(v), sep) }

func split(sep, orig string) map[string]string {
	parts := strings.Split(orig, sep)
	res := make(map[string]string, len(parts))
	for i, v := range parts {
		res["_"+strconv.Itoa(i)] = v
	}
	return res
}

func dfault(d interface{}, given ...interface{}) interface{} {
	if empty(given) || empty(given[0]) {
		return d
	}
	return given[0]
}

func empty(given interface{}) bool {
	g := reflect.ValueOf(given)
	if !g.IsValid() {
		return true
	}
	switch g.Kind() {
	default:
		return g.IsNil()
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String:
		return g.Len() == 0
	case reflect.Bool:
		return !g.Bool()
	case reflect.Complex64, reflect.Complex128:
		return g.Complex() == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return g.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return g.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return g.Float() == 0
	case reflect.Struct:
		return false
	}
}

func coalesce(v ...interface{}) interface{} {
	for _, val := range v {
		if !empty(val) {
			return val
		}
	}
	return nil
}

func ternary(vt interface{}, vf interface{}, v bool) interface{} {
	if v {
		return vt
	}
	return vf
}

func date(fmt string, date interface{}) string {
	var t time.Time
	switch date := date.(type) {
	default:
		t = fixedNow
	case time.Time:
		t = date
	case *time.Time:
		t = *date
	case int64:
		t = time.Unix(date, 0)
	case int:
		t = time.Unix(int64(date), 0)
	case int32:
		t = time.Unix(int64(date), 0)
	}
	return t.In(time.UTC).Format(fmt)
}

func dateAgo(date interface{}) string {
	var t time.Time
	switch date := date.(type) {
	default:
		t = fixedNow
	case time.Time:
		t = date
	case int64:
		t = time.Unix(date, 0)
	case int:
		t = time.Unix(int64(date), 0)
	}
	return fixedNow.Sub(t).Round(time.Second).String()
}

func duration(sec interface{}) string {
	var n int64
	switch value := sec.(type) {
	default:
		n = 0
	case string:
		n, _ = strconv.ParseInt(value, 10, 64)
	case int64:
		n = value
	}
	return (time.Duration(n) * time.Second).String()
}

func trimZeroDecimal(s string) string {
	var foundZero bool
	for i := len(s); i > 0; i-- {
		switch s[i-1] {
		case '.':
			if foundZero {
				return s[:i-1]
			}
		case '0':
			foundZero = true
		default:
			return s
		}
	}
	return s
}

// toInt64 is cast.ToInt64 (errors give 0).
func toInt64(i interface{}) int64 {
	switch s := i.(type) {
	case int:
		return int64(s)
	case int64:
		return s
	case int32:
		return int64(s)
	case int16:
		return int64(s)
	case int8:
		return int64(s)
	case uint:
		return int64(s)
	case uint64:
		return int64(s)
	case uint32:
		return int64(s)
	case uint16:
		return int64(s)
	case uint8:
		return int64(s)
	case float64:
		return int64(s)
	case float32:
		return int64(s)
	case string:
		v, err := strconv.ParseInt(trimZeroDecimal(s), 0, 0)
		if err == nil {
			return v
		}
		return 0
	case bool:
		if s {
			return 1
		}
		return 0
	default:
		return 0
	}
}

// toFloat64 is cast.ToFloat64 (errors give 0).
func toFloat64(i interface{}) float64 {
	switch s := i.(type) {
	case float64:
		return s
	case float32:
		return float64(s)
	case int:
		return float64(s)
	case int64:
		return float64(s)
	case int32:
		return float64(s)
	case uint8:
		return float64(s)
	case string:
		v, err := strconv.ParseFloat(s, 64)
		if err == nil {
			return v
		}
		return 0
	case bool:
		if s {
			return 1
		}
		return 0
	default:
		return 0
	}
}
