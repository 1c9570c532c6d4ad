package yarn

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
)

// nmPool talks ContainerManagementProtocol to NodeManagers, authenticating to each with the
// NM token the RM handed out for that node (they come once per node, so they are cached).
type nmPool struct {
	cfg    ipc.Config
	mu     sync.Mutex
	tokens map[string]*commonpb.Token // node host:port → NM token
	conns  map[string]*ipc.Client
}

func newNMPool(cfg ipc.Config) *nmPool {
	cfg.Protocol = ipc.ContainerManagementProtocol
	return &nmPool{cfg: cfg, tokens: map[string]*commonpb.Token{}, conns: map[string]*ipc.Client{}}
}

func nodeAddr(n *yarnpb.NodeId) string {
	return net.JoinHostPort(n.GetHost(), strconv.Itoa(int(n.GetPort())))
}

// addTokens caches NM tokens from a register or allocate response; a newer token for a node
// replaces the old one and its connection.
func (p *nmPool) addTokens(ts []*yarnpb.NMToken) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range ts {
		addr := nodeAddr(t.GetNodeId())
		p.tokens[addr] = t.GetToken()
		if c := p.conns[addr]; c != nil {
			c.Close()
			delete(p.conns, addr)
		}
	}
}

func (p *nmPool) client(n *yarnpb.NodeId) (*ipc.Client, error) {
	addr := nodeAddr(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.conns[addr]; c != nil {
		return c, nil
	}
	tok := p.tokens[addr]
	if tok == nil {
		return nil, fmt.Errorf("no NM token for node %s (the RM sends one with the first container on a node)", addr)
	}
	cfg := p.cfg
	cfg.Auth = []ipc.Authenticator{&ipc.TokenAuth{Tokens: []*commonpb.Token{tok}, AnyService: true}}
	c, err := ipc.NewClient([]string{addr}, cfg)
	if err != nil {
		return nil, err
	}
	p.conns[addr] = c
	return c, nil
}

// start launches a container.
func (p *nmPool) start(ctx context.Context, c *yarnpb.Container, clc *yarnpb.ContainerLaunchContext) error {
	nm, err := p.client(c.GetNodeId())
	if err != nil {
		return err
	}
	var resp yarnpb.StartContainersResponse
	err = nm.Call(ctx, "startContainers", &yarnpb.StartContainersRequest{StartContainerRequest: []*yarnpb.StartContainerRequest{{
		ContainerLaunchContext: clc, ContainerToken: c.GetContainerToken(),
	}}}, &resp)
	if err != nil {
		return fmt.Errorf("startContainers on %s: %w", nodeAddr(c.GetNodeId()), err)
	}
	for _, f := range resp.GetFailedRequests() {
		return fmt.Errorf("NodeManager %s refused %s: %s", nodeAddr(c.GetNodeId()), ContainerIDString(f.GetContainerId()), exceptionText(f.GetException()))
	}
	if len(resp.GetSucceededRequests()) != 1 {
		return fmt.Errorf("NodeManager %s answered startContainers without the container", nodeAddr(c.GetNodeId()))
	}
	return nil
}

// stop stops a container.
func (p *nmPool) stop(ctx context.Context, c *yarnpb.Container) error {
	nm, err := p.client(c.GetNodeId())
	if err != nil {
		return err
	}
	var resp yarnpb.StopContainersResponse
	if err := nm.Call(ctx, "stopContainers", &yarnpb.StopContainersRequest{ContainerId: []*yarnpb.ContainerId{c.GetId()}}, &resp); err != nil {
		return err
	}
	for _, f := range resp.GetFailedRequests() {
		return fmt.Errorf("stopping %s: %s", ContainerIDString(f.GetContainerId()), exceptionText(f.GetException()))
	}
	return nil
}

func (p *nmPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = map[string]*ipc.Client{}
}

func exceptionText(e *yarnpb.SerializedException) string {
	s := e.GetClassName() + ": " + e.GetMessage()
	if c := e.GetCause(); c != nil {
		s += " (caused by " + exceptionText(c) + ")"
	}
	return s
}
