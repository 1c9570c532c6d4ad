package rpc

import (
	"net/http/httptest"
	"testing"
)

func TestBearer(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if BearerOK(r, "s") {
		t.Fatal("a request without a secret passed")
	}
	SetBearer(r, "s")
	if !BearerOK(r, "s") || BearerOK(r, "t") || BearerOK(r, "") {
		t.Fatal("the secret check is wrong")
	}
	r.Header.Set("Authorization", "bearer s")
	if BearerOK(r, "s") {
		t.Fatal("a malformed header passed")
	}
}
