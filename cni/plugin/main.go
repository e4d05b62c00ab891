// eni-ipam: the CNI plugin binary. It carries one invocation (its CNI_* environment and the network
// config on stdin) to the eni-ipam agent on the node's unix socket and prints the agent's answer,
// exiting with the agent's code. It holds no logic of its own beyond VERSION (so a runtime can
// negotiate while the agent is down) and the spec's error JSON when the agent cannot be reached.
// Standard library only; built static (CGO_ENABLED=0) so it runs on any node without Node.js.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Supported must match lib/cni/spec.ts SUPPORTED_VERSIONS.
var supported = []string{"0.4.0", "1.0.0", "1.1.0"}

const latest = "1.1.0"
const defaultSocket = "/run/eni-ipam/agent.sock"

// codeTryAgainLater is the spec's "try again later" (11); the agent being unreachable is transient.
const codeTryAgainLater = 11

// codeDecode is the spec's "failure to decode content" (6).
const codeDecode = 6

type request struct {
	Env   map[string]string `json:"env"`
	Stdin string            `json:"stdin"`
}

type reply struct {
	ExitCode int    `json:"exitCode"`
	Stdout   string `json:"stdout"`
}

type cniError struct {
	CNIVersion string `json:"cniVersion"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

// conf holds the few config fields the shim itself reads.
type conf struct {
	CNIVersion string `json:"cniVersion"`
	Socket     string `json:"socket"`
}

func cniEnv(environ []string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		if strings.HasPrefix(kv, "CNI_") {
			if i := strings.IndexByte(kv, '='); i > 0 {
				env[kv[:i]] = kv[i+1:]
			}
		}
	}
	return env
}

// run performs one invocation and returns what to print and the exit code.
func run(environ []string, stdin []byte, timeout time.Duration) (string, int) {
	env := cniEnv(environ)
	if env["CNI_COMMAND"] == "VERSION" {
		out, _ := json.Marshal(map[string]interface{}{"cniVersion": latest, "supportedVersions": supported})
		return string(out), 0
	}
	var c conf
	if err := json.Unmarshal(stdin, &c); err != nil {
		// Without a config there is no socket to ask: answer the spec's decode failure here.
		out, _ := json.Marshal(cniError{CNIVersion: latest, Code: codeDecode, Msg: "network config on stdin is not JSON: " + err.Error()})
		return string(out), 1
	}
	version := c.CNIVersion
	if version == "" {
		version = latest
	}
	socket := c.Socket
	if socket == "" {
		socket = defaultSocket
	}
	body, _ := json.Marshal(request{Env: env, Stdin: string(stdin)})
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	fail := func(msg string) (string, int) {
		out, _ := json.Marshal(cniError{CNIVersion: version, Code: codeTryAgainLater, Msg: msg})
		return string(out), 1
	}
	resp, err := client.Post("http://agent/v1/cni", "application/json", bytes.NewReader(body))
	if err != nil {
		return fail(fmt.Sprintf("eni-ipam agent unreachable on %s (is the eni-ipam-agent pod running on this node?): %v", socket, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return fail(fmt.Sprintf("eni-ipam agent on %s answered %d: %s", socket, resp.StatusCode, strings.TrimSpace(string(data))))
	}
	var r reply
	if err := json.Unmarshal(data, &r); err != nil {
		return fail(fmt.Sprintf("eni-ipam agent on %s sent an unreadable reply: %v", socket, err))
	}
	return r.Stdout, r.ExitCode
}

func main() {
	stdin, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		out, _ := json.Marshal(cniError{CNIVersion: latest, Code: 5, Msg: "reading the network config from stdin: " + err.Error()})
		fmt.Println(string(out))
		os.Exit(1)
	}
	out, code := run(os.Environ(), stdin, 60*time.Second)
	if out != "" {
		fmt.Println(out)
	}
	os.Exit(code)
}
