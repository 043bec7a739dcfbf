package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

// assets are the built screens: index.html, app.css, app.js (the bundle of
// web/src with its libraries) and the libraries' license notices. `make ui`
// rebuilds them from web/.
//
//go:embed assets
var assets embed.FS

// assetServer serves the embedded assets from the root.
func assetServer() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("endpoint_ui: the embedded assets have no assets directory: " + err.Error())
	}
	return http.FileServerFS(sub)
}
