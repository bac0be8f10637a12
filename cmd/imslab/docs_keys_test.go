package main

import (
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/imscore/imscore/pkg/config"
)

// configKeys lists the YAML keys of the configuration type t in the notation of docs/CONFIG.md:
// nested sections joined with ".", the elements of a list of sections as "[]"
// ("routes[].peers[].weight"), inline fields (",inline") at their parent's level, "-" fields
// left out. leaves are the keys that hold a value (the ones to document); all also has the
// sections and lists of sections above them. A type in stop, or one that decodes itself
// (yaml.Unmarshaler, like config.Duration), is a value rather than a section.
func configKeys(t reflect.Type, stop map[reflect.Type]bool) (leaves, all []string) {
	var walk func(t reflect.Type, prefix string)
	value := func(t reflect.Type) bool {
		return stop[t] || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]())
	}
	walk = func(t reflect.Type, prefix string) {
		for _, f := range reflect.VisibleFields(t) {
			if (!f.IsExported() && !f.Anonymous) || len(f.Index) > 1 {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if slices.Contains(strings.Split(opts, ","), "inline") {
				walk(ft, prefix)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			key := prefix + name
			elem := ft
			if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array {
				elem = ft.Elem()
				for elem.Kind() == reflect.Pointer {
					elem = elem.Elem()
				}
			}
			switch {
			case value(elem):
				leaves = append(leaves, key)
				all = append(all, key)
			case elem != ft:
				all = append(all, key, key+"[]")
				walk(elem, key+"[].")
			default:
				all = append(all, key)
				walk(elem, key+".")
			}
		}
	}
	walk(t, "")
	return leaves, all
}

func TestConfigKeys(t *testing.T) {
	type inner struct {
		Weight int `yaml:"weight"`
	}
	type embedded struct {
		Network string `yaml:"network"`
	}
	type sample struct {
		Name     string          `yaml:"name"`
		Hidden   string          `yaml:"-"`
		Timeout  config.Duration `yaml:"timeout"`
		Apps     []string        `yaml:"apps"`
		Peers    []inner         `yaml:"peers"`
		Section  inner           `yaml:"section"`
		Stopped  inner           `yaml:"stopped"`
		embedded `yaml:",inline"`
		NoTag    *inner
	}
	leaves, all := configKeys(reflect.TypeFor[sample](), nil)
	wantLeaves := []string{"name", "timeout", "apps", "peers[].weight", "section.weight", "stopped.weight", "network", "notag.weight"}
	if !slices.Equal(leaves, wantLeaves) {
		t.Errorf("leaves = %q\nwant %q", leaves, wantLeaves)
	}
	for _, k := range []string{"peers", "peers[]", "section", "notag"} {
		if !slices.Contains(all, k) {
			t.Errorf("all = %q, missing %q", all, k)
		}
	}
	leaves, _ = configKeys(reflect.TypeFor[sample](), map[reflect.Type]bool{reflect.TypeFor[inner](): true})
	if !slices.Contains(leaves, "stopped") || !slices.Contains(leaves, "peers") {
		t.Errorf("stop types not taken as values: %q", leaves)
	}
}

// docKeys returns the keys docs/CONFIG.md documents: the backquoted first cell of each table
// row, for the shared sections (under "## Shared sections") and for each node (under
// "### <node>" of "## Node-specific keys").
func docKeys(doc string) (shared map[string]bool, nodes map[string]map[string]bool) {
	shared, nodes = map[string]bool{}, map[string]map[string]bool{}
	row := regexp.MustCompile("^\\| `([^`]+)` \\|")
	var h2, h3 string
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			h2, h3 = strings.TrimPrefix(line, "## "), ""
		case strings.HasPrefix(line, "### "):
			h3 = strings.TrimPrefix(line, "### ")
			if h2 == "Node-specific keys" {
				nodes[h3] = map[string]bool{}
			}
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch h2 {
		case "Shared sections":
			shared[m[1]] = true
		case "Node-specific keys":
			if h3 != "" {
				nodes[h3][m[1]] = true
			}
		}
	}
	return shared, nodes
}

// TestConfigDocKeys checks docs/CONFIG.md against the configuration structs: every key of every
// command is documented, either in a shared section or under the command's own heading, and
// every documented key still exists. imslab's sections named after a node are taken as one key
// each (they hold that node's keys).
func TestConfigDocKeys(t *testing.T) {
	shared, documented := docKeys(readConfigDoc(t))
	if len(shared) == 0 {
		t.Fatal("no shared keys found in docs/CONFIG.md")
	}
	configs := docConfigs()
	nodeTypes := map[reflect.Type]bool{}
	for name, cfg := range configs {
		if name != "imslab" {
			nodeTypes[reflect.TypeOf(cfg).Elem()] = true
		}
	}
	usedShared := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		cfg := configs[name]
		documented := documented[name]
		if documented == nil {
			t.Errorf("docs/CONFIG.md has no \"### %s\" under \"## Node-specific keys\"", name)
		}
		leaves, all := configKeys(reflect.TypeOf(cfg).Elem(), nodeTypes)
		var missing, stale []string
		for _, k := range leaves {
			switch {
			case documented[k]:
			case shared[k]:
				usedShared[k] = true
			default:
				missing = append(missing, k)
			}
		}
		for k := range documented {
			if !slices.Contains(all, k) {
				stale = append(stale, k)
			}
		}
		sort.Strings(stale)
		if len(missing) > 0 {
			t.Errorf("%s: keys not documented in docs/CONFIG.md:\n  %s", name, strings.Join(missing, "\n  "))
		}
		if len(stale) > 0 {
			t.Errorf("%s: documented keys that %s.Config does not have:\n  %s", name, name, strings.Join(stale, "\n  "))
		}
	}
	var unused []string
	for k := range shared {
		if !usedShared[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("shared keys documented in docs/CONFIG.md that no configuration has:\n  %s", strings.Join(unused, "\n  "))
	}
	for name := range documented {
		if _, ok := configs[name]; !ok {
			t.Errorf("docs/CONFIG.md documents keys of %q, which is not a command", name)
		}
	}
}
