package result

import "testing"

func TestHoldSummarize(t *testing.T) {
	samples := func(every float64, rss ...int64) []Sample {
		out := make([]Sample, len(rss))
		for i, r := range rss {
			out[i] = Sample{T: every * float64(i), RSSKB: r}
		}
		return out
	}
	tests := []struct {
		name                   string
		samples                []Sample
		refAt, wantRef, wantAt float64
		start, end, max        int64
		stable                 bool
	}{
		// 10 minutes every minute: the reference is the sample at 60 s.
		{"flat", samples(60, 100, 120, 120, 121, 121, 121, 122, 122, 122, 123, 124), 60, 120, 60, 100, 124, 124, true},
		{"growing", samples(60, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200), 60, 110, 60, 100, 200, 200, false},
		// Memory given back to the system is not a leak.
		{"shrinking below -5%", samples(60, 100, 200, 200, 200, 200, 200, 200, 190, 180), 60, 200, 60, 100, 180, 200, true},
		{"just over +5%", samples(60, 100, 200, 200, 200, 200, 200, 200, 205, 211), 60, 200, 60, 100, 211, 211, false},
		{"peak in between", samples(60, 100, 120, 500, 120, 121, 120, 120, 120, 121), 60, 120, 60, 100, 121, 500, true},
		// 100 s: the reference is half-way.
		{"under 2 minutes", samples(10, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200), 60, 150, 50, 100, 200, 200, false},
		{"short hold", samples(10, 50, 60, 61, 62), 60, 61, 20, 50, 62, 62, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Hold{Samples: tt.samples}
			h.Summarize(tt.refAt)
			if float64(h.RSSRefKB) != tt.wantRef || h.RefAtS != tt.wantAt {
				t.Errorf("reference %d kB at %vs, want %v at %v", h.RSSRefKB, h.RefAtS, tt.wantRef, tt.wantAt)
			}
			if h.RSSStartKB != tt.start || h.RSSEndKB != tt.end || h.RSSMaxKB != tt.max {
				t.Errorf("start %d end %d max %d, want %d %d %d", h.RSSStartKB, h.RSSEndKB, h.RSSMaxKB, tt.start, tt.end, tt.max)
			}
			if h.Stable != tt.stable {
				t.Errorf("stable = %v (end vs ref %+.3f), want %v", h.Stable, h.EndVsRef, tt.stable)
			}
		})
	}
	var empty Hold
	empty.Summarize(60) // no samples: nothing to say, no panic
	if empty.Stable {
		t.Error("a hold without samples is stable")
	}
}
