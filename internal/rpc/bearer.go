package rpc

import (
	"crypto/subtle"
	"net/http"
)

// SetBearer authenticates an HTTP request with a shared secret.
func SetBearer(req *http.Request, secret string) {
	req.Header.Set("Authorization", "Bearer "+secret)
}

// BearerOK reports, in constant time, whether r carries the shared secret set by SetBearer.
func BearerOK(r *http.Request, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+secret)) == 1
}
