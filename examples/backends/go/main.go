// Publish to the relay from a Go backend (standard library only).
// Run: go run main.go (against `npm run dev`; its values are the defaults below). Elsewhere set
// RELAY_URL, PUBLISH_TOKEN, SUBSCRIBE_JWT_SECRET and CHANNEL in the environment.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

var (
	relayURL     = getenv("RELAY_URL", "http://localhost:8787")
	publishToken = getenv("PUBLISH_TOKEN", "dev-token")
	jwtSecret    = getenv("SUBSCRIBE_JWT_SECRET", "dev-subscribe-secret-do-not-use-in-production")
	channel      = getenv("CHANNEL", "private-orders")
	client       = &http.Client{Timeout: 10 * time.Second}
)

// getenv is the variable's value, or the local relay's (npm run dev) when it is unset.
func getenv(name, local string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return local
}

// post sends a JSON body with the publish token and decodes the 201 answer into out.
func post(path string, body any, headers map[string]string, out any) (replayed bool, err error) {
	payload, _ := json.Marshal(body)
	request, err := http.NewRequest(http.MethodPost, relayURL+path, bytes.NewReader(payload))
	if err != nil {
		return false, err
	}
	request.Header.Set("Authorization", "Bearer "+publishToken)
	request.Header.Set("Content-Type", "application/json")
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	response, err := client.Do(request)
	if err != nil {
		return false, err
	}
	defer response.Body.Close()
	text, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusCreated { // the relay's errors are JSON {"error", "message"}
		return false, fmt.Errorf("%s: %d %s", path, response.StatusCode, text)
	}
	return response.Header.Get("Idempotent-Replayed") == "true", json.Unmarshal(text, out)
}

// subscriberToken mints an HS256 JWT that lets a browser read the channels until it expires.
func subscriberToken(channels []string, ttl time.Duration) string {
	part := func(value any) string {
		raw, _ := json.Marshal(value)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	claims := map[string]any{"scope": "subscribe", "channels": channels, "exp": time.Now().Add(ttl).Unix()}
	unsigned := part(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
	mac := hmac.New(sha256.New, []byte(jwtSecret))
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func main() {
	// One event. `data` may be a string or any JSON value.
	var one struct{ ID string }
	event := map[string]any{"event": "greeting", "data": map[string]string{"from": "go"}}
	if _, err := post("/v1/channels/"+url.PathEscape(channel)+"/events", event, nil, &one); err != nil {
		fail(err)
	}

	// A batch with an Idempotency-Key: if the answer is lost, send the same request again
	// with the same key; the relay answers the same ids and delivers the events once.
	random := make([]byte, 16)
	rand.Read(random)
	key := map[string]string{"Idempotency-Key": hex.EncodeToString(random)}
	batch := map[string]any{"events": []map[string]string{
		{"channel": channel, "data": "batch-1"},
		{"channel": channel, "data": "batch-2"},
	}}
	var first, retry struct{ IDs []string }
	if _, err := post("/v1/events", batch, key, &first); err != nil {
		fail(err)
	}
	replayed, err := post("/v1/events", batch, key, &retry)
	if err != nil {
		fail(err)
	}

	result, _ := json.Marshal(map[string]any{
		"id": one.ID, "batch": first.IDs, "retry": retry.IDs, "replayed": replayed,
		"token": subscriberToken([]string{channel}, time.Hour),
	})
	fmt.Println(string(result))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
