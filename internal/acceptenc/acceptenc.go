// Package acceptenc reads Accept-Encoding request headers (RFC 9110
// section 12.5.3), for the handlers that compress responses: the polling
// transport and the served client bundle.
package acceptenc

import (
	"strconv"
	"strings"
)

// Weights returns the quality values the header values give gzip (or
// x-gzip) and deflate; a coding not named gets the weight of "*", and 0
// when "*" is absent too. An invalid or out-of-range weight counts as 0,
// which accepts nothing; a coding named twice keeps its highest weight.
func Weights(values ...string) (gzip, deflate float64) {
	gz, df, star := -1.0, -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gz = max(gz, q)
			case "deflate":
				df = max(df, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if gz < 0 {
		gz = star
	}
	if df < 0 {
		df = star
	}
	return max(gz, 0), max(df, 0)
}
