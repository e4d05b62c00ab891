package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVersionAnswersWithoutAgent(t *testing.T) {
	out, code := run([]string{"CNI_COMMAND=VERSION"}, []byte(`{"cniVersion":"0.4.0","socket":"/nonexistent.sock"}`), time.Second)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var v struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.CNIVersion != "1.1.0" || strings.Join(v.SupportedVersions, ",") != "0.4.0,1.0.0,1.1.0" {
		t.Fatalf("bad VERSION output %q (%v)", out, err)
	}
}

func TestUnreachableAgentIsTryAgainLater(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	out, code := run([]string{"CNI_COMMAND=ADD"}, []byte(`{"cniVersion":"1.0.0","socket":"`+sock+`"}`), time.Second)
	var e cniError
	if code != 1 || json.Unmarshal([]byte(out), &e) != nil || e.Code != 11 || e.CNIVersion != "1.0.0" || !strings.Contains(e.Msg, sock) {
		t.Fatalf("want code 11 naming the socket, got exit %d: %s", code, out)
	}
}

func TestForwardsEnvAndStdinAndRelaysReply(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var got request
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		_, _ = w.Write([]byte(`{"exitCode":1,"stdout":"{\"code\":100}"}`))
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	stdin := `{"cniVersion":"1.1.0","socket":"` + sock + `"}`
	out, code := run([]string{"CNI_COMMAND=ADD", "CNI_ARGS=K8S_POD_NAME=p", "PATH=/bin", "HOME=/root"}, []byte(stdin), 5*time.Second)
	if code != 1 || out != `{"code":100}` {
		t.Fatalf("reply not relayed: exit %d out %q", code, out)
	}
	if got.Stdin != stdin || got.Env["CNI_COMMAND"] != "ADD" || got.Env["CNI_ARGS"] != "K8S_POD_NAME=p" || len(got.Env) != 2 {
		t.Fatalf("request not forwarded exactly (only CNI_* env): %+v", got)
	}
}

func TestUndecodableConfigIsCode6(t *testing.T) {
	out, code := run([]string{"CNI_COMMAND=ADD"}, []byte(`{not json`), time.Second)
	var e cniError
	if code != 1 || json.Unmarshal([]byte(out), &e) != nil || e.Code != 6 {
		t.Fatalf("want code 6, got exit %d: %s", code, out)
	}
}
