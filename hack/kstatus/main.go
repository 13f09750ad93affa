// tidemark hack/kstatus: classifies Kubernetes objects with the real kstatus library
// (sigs.k8s.io/cli-utils pkg/kstatus/status.Compute), the code Flux's `wait: true` and
// `healthChecks` run, so the tests can check how Flux reads a DBRollout, DBInstance or
// DBSchema at each phase instead of guessing. Built by hack/kstatus.sh.
//
// Input (stdin): JSON values one after another, or YAML documents separated by "---"; each
// is an object, or a list (any value with an "items" array, as `kubectl get -o json`
// prints) whose items are classified in order.
// Output (stdout): one line per object, tab-separated:
//
//	<status>\t<kind>/<namespace>/<name>\t<message>
//
// where <status> is status.Compute's result (InProgress, Failed, Current, Terminating,
// NotFound, Unknown). Exit 1 on unreadable input or a Compute error, with the reason on stderr.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// classify writes one line for u: Compute's status, kind/namespace/name, message.
func classify(w io.Writer, u *unstructured.Unstructured) error {
	res, err := status.Compute(u)
	if err != nil {
		return fmt.Errorf("compute %s/%s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	msg := strings.ReplaceAll(res.Message, "\n", " ")
	_, err = fmt.Fprintf(w, "%s\t%s/%s/%s\t%s\n", res.Status, u.GetKind(), u.GetNamespace(), u.GetName(), msg)
	return err
}

// run classifies every object read from in; a value with an "items" array is a list.
func run(in io.Reader, out io.Writer) error {
	dec := yaml.NewYAMLOrJSONDecoder(in, 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read JSON or YAML value: %w", err)
		}
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("read JSON object: %w", err)
		}
		objs := list.Items
		if objs == nil {
			objs = []json.RawMessage{raw}
		}
		for i, o := range objs {
			// unstructured's decoder keeps integers as int64, as status.Compute expects
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(o); err != nil {
				return fmt.Errorf("decode object %d: %w", i, err)
			}
			if err := classify(out, u); err != nil {
				return err
			}
		}
	}
}

func main() {
	out := bufio.NewWriter(os.Stdout)
	err := run(bufio.NewReader(os.Stdin), out)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(1)
	}
}
