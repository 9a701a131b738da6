// Package ui embeds the web application of @socket.io/admin-ui 0.5.1
// (the package's ui/dist folder, without its source maps), under the
// package's MIT licence (LICENSE).
package ui

import "embed"

// FS holds dist/ (index.html, css/, js/, img/, favicon.png) and LICENSE.
//
//go:embed dist LICENSE
var FS embed.FS
