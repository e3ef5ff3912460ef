package sync

import (
	"encoding/json"

	"github.com/marquee-proxy/marquee/profile"
)

// marshal encodes the profile as stored.
func marshalProfile(p *profile.Profile) ([]byte, error) { return json.Marshal(p) }

func unmarshalProfile(data []byte) (*profile.Profile, error) {
	p := new(profile.Profile)
	if err := json.Unmarshal(data, p); err != nil {
		return nil, err
	}
	if needsMigration(p) {
		migrate(p)
	}
	return p, nil
}
