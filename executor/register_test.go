package executor

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

type refusingDriver struct {
	pb.UnimplementedDriverServer
	err error
}

func (d *refusingDriver) Register(context.Context, *pb.RegisterRequest) (*pb.RegisterResponse, error) {
	return nil, d.err
}

func serveDriver(t *testing.T, secret string, d pb.DriverServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(rpc.ServerOptions(secret, 1<<20)...)
	pb.RegisterDriverServer(srv, d)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func runAgainst(t *testing.T, addr, secret string) error {
	t.Helper()
	log := logrus.New()
	log.SetOutput(testWriter{t})
	err := RunProcess(context.Background(), ProcessConfig{DriverAddress: addr, ExecutorID: "1", Host: "127.0.0.1", Secret: secret, Cores: 1, Log: log})
	if err == nil {
		t.Fatal("registration succeeded")
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("%v does not match ErrRefused", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Fatalf("error does not name the driver address %s: %v", addr, err)
	}
	return err
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Each way an executor can fail to join its driver has its own exit code
// and a message saying what to check (issue 11, item 9).
func TestRegistrationFailuresAreTold(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		old := registerAttempts
		registerAttempts = 2
		defer func() { registerAttempts = old }()
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close() // nothing listens there now
		err = runAgainst(t, addr, "s3cret-unreachable")
		if c := ExitCode(err); c != ExitUnreachable {
			t.Fatalf("exit code %d, want %d: %v", c, ExitUnreachable, err)
		}
		for _, want := range []string{"cannot reach the driver", "stoke.driver.host", "firewall"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("%q missing from: %v", want, err)
			}
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		addr := serveDriver(t, "the-right-secret", &refusingDriver{err: errors.New("unreachable: auth comes first")})
		err := runAgainst(t, addr, "a-wrong-secret")
		if c := ExitCode(err); c != ExitUnauthorized {
			t.Fatalf("exit code %d, want %d: %v", c, ExitUnauthorized, err)
		}
		if !strings.Contains(err.Error(), "application secret") || strings.Contains(err.Error(), "a-wrong-secret") || strings.Contains(err.Error(), "the-right-secret") {
			t.Fatalf("message must name the secret problem without the secret: %v", err)
		}
	})
	t.Run("binary differs", func(t *testing.T) {
		addr := serveDriver(t, "sec", &refusingDriver{err: status.Error(codes.FailedPrecondition, "the executor's binary differs from the driver's: function \"main.double\" is missing")})
		err := runAgainst(t, addr, "sec")
		if c := ExitCode(err); c != ExitBinaryDiffers {
			t.Fatalf("exit code %d, want %d: %v", c, ExitBinaryDiffers, err)
		}
		if !strings.Contains(err.Error(), `"main.double" is missing`) {
			t.Fatalf("message lacks the registry difference: %v", err)
		}
	})
	t.Run("other refusal", func(t *testing.T) {
		addr := serveDriver(t, "sec", &refusingDriver{err: status.Error(codes.AlreadyExists, "executor 1 is already registered")})
		err := runAgainst(t, addr, "sec")
		if c := ExitCode(err); c != ExitRefused {
			t.Fatalf("exit code %d, want %d: %v", c, ExitRefused, err)
		}
		if !strings.Contains(err.Error(), "already registered") {
			t.Fatalf("message lacks the driver's reason: %v", err)
		}
	})
}

func TestExitDescriptions(t *testing.T) {
	want := map[int]string{
		ExitBinaryDiffers: "binary differs",
		ExitUnreachable:   "unreachable",
		ExitUnauthorized:  "application secret",
		ExitRefused:       "refused",
		ExitConfig:        "environment",
	}
	seen := map[string]int{}
	for code, w := range want {
		d := ExitDescription(code)
		if !strings.Contains(d, w) {
			t.Errorf("code %d: %q lacks %q", code, d, w)
		}
		if other, dup := seen[d]; dup {
			t.Errorf("codes %d and %d share the description %q", code, other, d)
		}
		seen[d] = code
	}
	for _, code := range []int{0, ExitFailed, 7, 137} {
		if d := ExitDescription(code); d != "" {
			t.Errorf("code %d described as %q", code, d)
		}
	}
	if ExitCode(errors.New("stream lost")) != ExitFailed || ExitCode(nil) != 0 {
		t.Error("ExitCode of a plain error or nil")
	}
}

// An executor tells the driver where its logs are: what its cluster manager
// set, or on a Mesos agent its sandbox's stderr through the agent.
func TestLogURLFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvLogURL: "http://worker:8081/log?app=a&executor=1&file=stderr"}, "http://worker:8081/log?app=a&executor=1&file=stderr"},
		{map[string]string{"MESOS_AGENT_ENDPOINT": "10.0.0.9:5051", "MESOS_DIRECTORY": "/var/lib/mesos/slaves/S1/frameworks/F/executors/0/runs/R"},
			"http://10.0.0.9:5051/files/download?path=%2Fvar%2Flib%2Fmesos%2Fslaves%2FS1%2Fframeworks%2FF%2Fexecutors%2F0%2Fruns%2FR%2Fstderr"},
		{map[string]string{"MESOS_AGENT_ENDPOINT": "10.0.0.9:5051"}, ""},
		{nil, ""},
	} {
		if got := logURLFromEnv(env(c.env)); got != c.want {
			t.Errorf("logURLFromEnv(%v) = %q, want %q", c.env, got, c.want)
		}
	}
}
