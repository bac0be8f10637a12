package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// openAPIDoc is the hand-written OpenAPI 3 document of every route (a test checks it against
// the routes Routes mounts).
//
//go:embed openapi.json
var openAPIDoc []byte

func (a *API) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}

// docsPage renders the human-readable page from the same document, once.
var docsPage = sync.OnceValues(renderDocs)

func (a *API) docs(c *gin.Context) {
	page, err := docsPage()
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", page)
}

type docOperation struct {
	Summary     string `json:"summary"`
	Description string `json:"description"`
}

type docRoute struct {
	Method, Path string
	docOperation
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .2em}
td{vertical-align:top;padding:.3em .6em}th{text-align:left}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Description}}</p>
<p>Base URL <code>` + Base + `</code>; machine-readable: <a href="openapi.json">openapi.json</a>.</p>
<table><tr><th>Method</th><th>Path</th><th>What it does</th></tr>
{{range .Routes}}<tr><td><code>{{.Method}}</code></td><td><code>{{.Path}}</code></td><td>{{.Summary}}{{if .Description}}<br><small>{{.Description}}</small>{{end}}</td></tr>
{{end}}</table></body></html>
`))

// docRoutes lists the operations of the OpenAPI document, sorted by path then method.
func docRoutes() (title, description string, routes []docRoute, err error) {
	var doc struct {
		Info struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"info"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return "", "", nil, err
	}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op docOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				return "", "", nil, err
			}
			routes = append(routes, docRoute{Method: strings.ToUpper(method), Path: path, docOperation: op})
		}
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	return doc.Info.Title, doc.Info.Description, routes, nil
}

func renderDocs() ([]byte, error) {
	title, description, routes, err := docRoutes()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = docsTemplate.Execute(&b, struct {
		Title, Description string
		Routes             []docRoute
	}{title, description, routes})
	return b.Bytes(), err
}
