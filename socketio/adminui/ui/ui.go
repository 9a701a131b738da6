// Package ui embeds the web application of @socket.io/admin-ui 0.5.1
// (the package's ui/dist folder, without its source maps; MIT licence in
// LICENSE) and the icon font it loads from a CDN, @mdi/font 7.4.47 (its
// minified CSS, with only the WOFF2 font kept, in mdi/; licences in
// mdi/LICENSE), so that the UI needs no external site.
package ui

import "embed"

// FS holds dist/ (index.html, css/, js/, img/, favicon.png), mdi/ and
// LICENSE.
//
//go:embed dist mdi LICENSE
var FS embed.FS
