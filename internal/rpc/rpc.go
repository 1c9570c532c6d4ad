// Package rpc holds the driver/executor wire protocol (stokepb, generated
// from proto/stoke.proto) and what both ends share: authentication with the
// application's secret and message size limits.
package rpc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// SecretHeader carries the application's secret on every call.
const SecretHeader = "stoke-secret"

// NewSecret makes a random per-application secret.
func NewSecret() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// CheckSecret refuses a call that does not carry secret (for servers that
// serve several applications and pick the secret per call).
func CheckSecret(ctx context.Context, secret string) error {
	if secret == "" {
		return status.Error(codes.Unauthenticated, "stoke: missing or wrong application secret")
	}
	return check(ctx, secret)
}

func check(ctx context.Context, secret string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get(SecretHeader)
	if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(secret)) != 1 {
		return status.Error(codes.Unauthenticated, "stoke: missing or wrong application secret")
	}
	return nil
}

// maxConnIdle closes a connection without a call for that long: anyone
// who reaches the port can open one, and without it idle (even
// unauthenticated) connections were kept forever. Clients reconnect
// transparently.
var maxConnIdle = 5 * time.Minute

// ServerOptions authenticate every call with secret and bound message sizes
// and idle connections.
func ServerOptions(secret string, maxMsg int) []grpc.ServerOption {
	return append(ServerLimits(maxMsg),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := check(ctx, secret); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := check(ss.Context(), secret); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	)
}

// ServerLimits bound message sizes and idle connections, without
// authentication: the server checks each call itself (CheckSecret).
func ServerLimits(maxMsg int) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMsg),
		grpc.MaxSendMsgSize(maxMsg),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: maxConnIdle}),
	}
}

// DialOptions attach secret to every call.
func DialOptions(secret string, maxMsg int) []grpc.DialOption {
	add := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, SecretHeader, secret)
	}
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return inv(add(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, s grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return s(add(ctx), desc, cc, method, opts...)
		}),
	}
}
