package mesostest

import (
	"fmt"
	"strings"
	"unicode"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The master's checks of a task before it reaches an agent, as Mesos's
// validation of LAUNCH operations makes them: what the real master refuses
// with TASK_ERROR (REASON_TASK_INVALID) the stand-in refuses too, so that a
// framework tested here does not fail on a real cluster. What Mesos only
// warns about (an executor below the minimum resources) is logged and kept
// for tests (Cluster.Warnings).

// Minimum resources Mesos wants an executor to hold (MIN_CPUS, MIN_MEM).
const (
	minExecutorCPUs  = 0.01
	minExecutorMemMB = 32
)

// maxIDLength is the longest task or executor id Mesos accepts (the
// longest file name: ids become sandbox directory names).
const maxIDLength = 255

// validateID checks a task or executor id as Mesos does: ids name sandbox
// directories, so they must be usable file names.
func validateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("ID must not be empty")
	case len(id) > maxIDLength:
		return fmt.Errorf("ID must not be greater than %d characters", maxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("'%s' is disallowed", id)
	case strings.Contains(id, "/"):
		return fmt.Errorf("'/' is disallowed")
	}
	for _, r := range id {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("'%s' contains invalid characters", id)
		}
	}
	return nil
}

// validateCommand checks a CommandInfo: a shell command needs its value,
// an executable its path; environment variables carry what their type
// says; every URI names something to fetch.
func validateCommand(what string, c *mesos.CommandInfo) error {
	shell := c.Shell == nil || *c.Shell // shell is true by default
	if c.GetValue() == "" {
		if shell {
			return fmt.Errorf("%s: shell command is not specified ('value' is empty)", what)
		}
		return fmt.Errorf("%s: executable path is not specified ('value' is empty)", what)
	}
	for _, v := range c.GetEnvironment().GetVariables() {
		switch v.GetType() {
		case mesos.Environment_Variable_SECRET:
			if v.Secret == nil {
				return fmt.Errorf("%s: environment variable '%s' of type 'SECRET' must have a secret set", what, v.Name)
			}
			if v.Value != nil {
				return fmt.Errorf("%s: environment variable '%s' of type 'SECRET' must not have a value set", what, v.Name)
			}
		default:
			if v.Value == nil {
				return fmt.Errorf("%s: environment variable '%s' of type 'VALUE' must have a value set", what, v.Name)
			}
			if v.Secret != nil {
				return fmt.Errorf("%s: environment variable '%s' of type 'VALUE' must not have a secret set", what, v.Name)
			}
		}
	}
	for i, u := range c.URIs {
		if u.Value == "" {
			return fmt.Errorf("%s: uris[%d] has no 'value' to fetch", what, i)
		}
	}
	return nil
}

// validateExecutor checks an ExecutorInfo of a task framework fwID
// launches; it returns the warnings Mesos logs for it too.
func validateExecutor(fwID, taskID string, e *mesos.ExecutorInfo) (warnings []string, err error) {
	if e.Type != mesos.ExecutorInfo_CUSTOM {
		// mesos-go always sends the type, UNKNOWN when not set.
		return nil, fmt.Errorf("'ExecutorInfo.type' must be 'CUSTOM'")
	}
	if err := validateID(e.ExecutorID.Value); err != nil {
		return nil, fmt.Errorf("Executor ID '%s' is invalid: %v", e.ExecutorID.Value, err)
	}
	if e.FrameworkID != nil && e.FrameworkID.Value != fwID {
		return nil, fmt.Errorf("ExecutorInfo has an invalid FrameworkID (Actual: %s vs Expected: %s)", e.FrameworkID.Value, fwID)
	}
	if e.Command == nil {
		return nil, fmt.Errorf("'ExecutorInfo.command' must be set for 'CUSTOM' executor")
	}
	if err := validateCommand("ExecutorInfo.command", e.Command); err != nil {
		return nil, err
	}
	res, err := fromProto(e.Resources)
	if err != nil {
		return nil, fmt.Errorf("Executor uses invalid resources: %v", err)
	}
	amount := func(name string) string {
		if v, ok := res.scalars[name]; ok {
			return fmt.Sprint(v)
		}
		return "None"
	}
	if res.scalar("cpus") < minExecutorCPUs {
		warnings = append(warnings, fmt.Sprintf("Executor '%s' for task '%s' uses less CPUs (%s) than the minimum required (%v)",
			e.ExecutorID.Value, taskID, amount("cpus"), minExecutorCPUs))
	}
	if res.scalar("mem") < minExecutorMemMB {
		warnings = append(warnings, fmt.Sprintf("Executor '%s' for task '%s' uses less memory (%s) than the minimum required (%dMB)",
			e.ExecutorID.Value, taskID, amount("mem"), minExecutorMemMB))
	}
	return warnings, nil
}

// validateTaskInfo checks what of a task does not depend on the offer.
func validateTaskInfo(fwID string, t *mesos.TaskInfo) (warnings []string, err error) {
	if err := validateID(t.TaskID.Value); err != nil {
		return nil, fmt.Errorf("Task ID '%s' is invalid: %v", t.TaskID.Value, err)
	}
	if (t.Command == nil) == (t.Executor == nil) {
		return nil, fmt.Errorf("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	if kp := t.KillPolicy; kp != nil && kp.GracePeriod != nil && kp.GracePeriod.Nanoseconds < 0 {
		return nil, fmt.Errorf("Task's 'kill_policy.grace_period' must be non-negative")
	}
	if t.Command != nil {
		if err := validateCommand("Task's CommandInfo", t.Command); err != nil {
			return nil, err
		}
	}
	if t.Executor != nil {
		return validateExecutor(fwID, t.TaskID.Value, t.Executor)
	}
	return nil, nil
}
