package pipeline

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeError writes {"error": msg} and returns the status.
func writeError(w http.ResponseWriter, status int, msg string) int {
	return WriteJSON(w, status, map[string]string{"error": msg})
}

// WriteJSON writes v as a JSON answer and returns the status: the one
// encoder of the module's JSON answers, the admin API's too.
func WriteJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}
