package acceptenc

import "testing"

func TestWeights(t *testing.T) {
	for _, c := range []struct {
		values []string
		gz, df float64
	}{
		{nil, 0, 0},
		{[]string{"gzip"}, 1, 0},
		{[]string{"deflate;q=0.5, *;q=0.2"}, 0.2, 0.5},
		{[]string{"GZIP ; Q=0.3", "gzip;q=0.7"}, 0.7, 0},
		{[]string{"x-gzip;q=2"}, 0, 0},
		{[]string{"gzip;q=abc, deflate"}, 0, 1},
		{[]string{"*;q=0"}, 0, 0},
	} {
		gz, df := Weights(c.values...)
		if gz != c.gz || df != c.df {
			t.Errorf("Weights(%q) = %v, %v; want %v, %v", c.values, gz, df, c.gz, c.df)
		}
	}
}
