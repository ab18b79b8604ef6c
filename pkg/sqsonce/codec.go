package sqsonce

import (
	"encoding/json"
	"fmt"
)

// Codec encodes an effect's result for the idempotency store, and decodes
// the stored result a duplicate gets back. Config.Codec; JSONCodec by
// default.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default Codec: encoding/json. A nil result (the zero
// value of a pointer, slice or map R) is stored as no result at all.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// encodeResult encodes r with c; "null" (a nil R) is stored as nothing.
func encodeResult[R any](c Codec, r R) ([]byte, error) {
	data, err := c.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode the result: %w", err)
	}
	if string(data) == "null" {
		return nil, nil
	}
	return data, nil
}

// decodeResult decodes a stored result with c; no data is R's zero value.
func decodeResult[R any](c Codec, data []byte) (R, error) {
	var r R
	if len(data) == 0 {
		return r, nil
	}
	if err := c.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("decode the stored result: %w", err)
	}
	return r, nil
}
