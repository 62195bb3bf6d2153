package apiemulator

import (
	"encoding/json"
	"time"
)

// faultJSON is Fault on the admin API, with durations as Go duration
// strings ("1s", "250ms") rather than nanoseconds.
type faultJSON struct {
	Status      int     `json:"status,omitempty"`
	RetryAfter  string  `json:"retryAfter,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	Times       int     `json:"times,omitempty"`
	Latency     string  `json:"latency,omitempty"`
}

// MarshalJSON writes durations as strings.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{
		Status: f.Status, RetryAfter: durationString(f.RetryAfter),
		Probability: f.Probability, Times: f.Times, Latency: durationString(f.Latency),
	})
}

// UnmarshalJSON reads durations as strings.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	retryAfter, err := parseDuration(j.RetryAfter)
	if err != nil {
		return err
	}
	latency, err := parseDuration(j.Latency)
	if err != nil {
		return err
	}
	*f = Fault{Status: j.Status, RetryAfter: retryAfter, Probability: j.Probability, Times: j.Times, Latency: latency}
	return nil
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}
