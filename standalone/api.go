package standalone

// Wire types of the master's HTTP/JSON API, used by workers, drivers and
// `stoke submit`. Every request carries the cluster secret (when one is
// configured) in the SecretHeader header.

// SecretHeader carries the cluster's shared secret.
const SecretHeader = "Stoke-Secret"

// API paths on the master's port (7077).
const (
	pathWorkerRegister = "/v1/worker/register"
	pathWorkerPoll     = "/v1/worker/poll"
	pathWorkerEvent    = "/v1/worker/event"
	pathAppRegister    = "/v1/app/register"
	pathAppPoll        = "/v1/app/poll"
	pathAppRequest     = "/v1/app/request"
	pathAppKill        = "/v1/app/kill-executors"
	pathAppUnregister  = "/v1/app/unregister"
	pathDriverSubmit   = "/v1/driver/submit"
	pathDriverStatus   = "/v1/driver/status"
	pathDriverKill     = "/v1/driver/kill"
	pathBinary         = "/v1/binary/" // + sha256, for cluster deploy mode
	pathJSON           = "/json"
)

// WorkerRegistration is what a worker tells the master when it joins or
// re-attaches after a master failover.
type WorkerRegistration struct {
	ID        string `json:"id"`
	Host      string `json:"host"`
	Cores     int    `json:"cores"`
	MemoryMiB int    `json:"memoryMiB"`
	WebUIURL  string `json:"webUIURL"`
	// Executors and drivers it runs now (re-attach after a failover).
	Executors []ExecutorReport `json:"executors,omitempty"`
	Drivers   []DriverReport   `json:"drivers,omitempty"`
}

// ExecutorReport is the state of one executor process on a worker.
type ExecutorReport struct {
	AppID      string `json:"appId"`
	ExecutorID string `json:"executorId"`
	Cores      int    `json:"cores"`
	MemoryMiB  int    `json:"memoryMiB"`
	State      string `json:"state"` // RUNNING, EXITED, FAILED
	PID        int    `json:"pid,omitempty"`
	Reason     string `json:"reason,omitempty"`
	LogPath    string `json:"logPath,omitempty"`
}

// DriverReport is the state of one cluster-mode driver on a worker.
type DriverReport struct {
	DriverID string `json:"driverId"`
	State    string `json:"state"` // RUNNING, FINISHED, FAILED, KILLED, RELAUNCHING
	PID      int    `json:"pid,omitempty"`
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason,omitempty"`
	Restarts int    `json:"restarts,omitempty"`
}

// WorkerPoll is a worker's heartbeat; Ack is the sequence number of the
// last command it has carried out.
type WorkerPoll struct {
	ID  string `json:"id"`
	Ack int64  `json:"ack"`
}

// WorkerCommand is one thing the master asks a worker to do.
type WorkerCommand struct {
	Seq            int64           `json:"seq"`
	LaunchExecutor *LaunchExecutor `json:"launchExecutor,omitempty"`
	KillExecutor   *ExecutorRef    `json:"killExecutor,omitempty"`
	LaunchDriver   *LaunchDriver   `json:"launchDriver,omitempty"`
	KillDriver     string          `json:"killDriver,omitempty"`
	// AppFinished: the application ended; the worker removes what it
	// kept for it beyond its executors (its shuffle service files).
	AppFinished string `json:"appFinished,omitempty"`
}

// ExecutorRef names one executor.
type ExecutorRef struct {
	AppID      string `json:"appId"`
	ExecutorID string `json:"executorId"`
}

// LaunchExecutor starts one executor process of an application.
type LaunchExecutor struct {
	ExecutorRef
	Cores         int          `json:"cores"`
	MemoryMiB     int          `json:"memoryMiB"`
	DriverAddress string       `json:"driverAddress"`
	Binary        BinarySource `json:"binary"`
	Secret        string       `json:"secret"`
	LogLevel      string       `json:"logLevel"`
	// Files are the application's stoke.files and stoke.archives: the
	// worker puts them in the executor's working directory.
	Files []FileSource `json:"files,omitempty"`
}

// FileSource is one of an application's stoke.files or stoke.archives:
// downloaded like the binary (and cached by SHA-256), then copied into the
// executor's working directory as Name, or unpacked into a directory Name
// when Format (an archive suffix: .zip, .tar.gz, ...) is set.
type FileSource struct {
	BinarySource
	Name   string `json:"name"`
	Format string `json:"format,omitempty"`
}

// BinarySource is where a worker downloads an application binary and the
// SHA-256 it must have.
type BinarySource struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Secret string `json:"secret,omitempty"` // sent with the download
}

// LaunchDriver starts a cluster-mode driver.
type LaunchDriver struct {
	DriverID  string       `json:"driverId"`
	Binary    BinarySource `json:"binary"`
	Args      []string     `json:"args"`
	SubmitEnv string       `json:"submitEnv"` // STOKE_SUBMIT_CONF
	Supervise bool         `json:"supervise"`
}

// WorkerPollReply carries commands not yet acknowledged.
type WorkerPollReply struct {
	Commands []WorkerCommand `json:"commands,omitempty"`
}

// WorkerEvent reports an executor's or driver's change of state at once.
type WorkerEvent struct {
	WorkerID string          `json:"workerId"`
	Executor *ExecutorReport `json:"executor,omitempty"`
	Driver   *DriverReport   `json:"driver,omitempty"`
}

// AppDescription is what a driver registers.
type AppDescription struct {
	// ID is empty at first registration and set when re-attaching.
	ID               string       `json:"id,omitempty"`
	Name             string       `json:"name"`
	CoresPerExecutor int          `json:"coresPerExecutor"` // 0: all of a worker's free cores
	MemPerExecutor   int          `json:"memPerExecutorMiB"`
	MaxCores         int          `json:"maxCores"`
	DriverAddress    string       `json:"driverAddress"`
	DriverUIURL      string       `json:"driverUIURL,omitempty"`
	Binary           BinarySource `json:"binary"`
	Files            []FileSource `json:"files,omitempty"`
	Secret           string       `json:"secret"`
	LogLevel         string       `json:"logLevel"`
	DriverID         string       `json:"driverId,omitempty"` // set in cluster deploy mode
	// DynamicAllocation: the driver sets the executor total itself
	// (RequestTotalExecutors), so the application starts with none.
	DynamicAllocation bool `json:"dynamicAllocation,omitempty"`
	// SecretHash is set by the master in its recovery state only (never
	// the secret itself); what a driver sends here is ignored.
	SecretHash string `json:"secretHash,omitempty"`
}

// AppRegistered is the master's answer to a registration.
type AppRegistered struct {
	ID string `json:"id"`
}

// AppPoll is a driver's heartbeat.
type AppPoll struct {
	ID  string `json:"id"`
	Ack int64  `json:"ack"`
}

// AppEvent is one change the master tells a driver about.
type AppEvent struct {
	Seq        int64  `json:"seq"`
	ExecutorID string `json:"executorId,omitempty"`
	WorkerID   string `json:"workerId,omitempty"`
	Host       string `json:"host,omitempty"`
	Cores      int    `json:"cores,omitempty"`
	Kind       string `json:"kind"` // added, exited, warning
	Message    string `json:"message,omitempty"`
}

// AppPollReply carries events not yet acknowledged.
type AppPollReply struct {
	Events []AppEvent `json:"events,omitempty"`
}

// AppRequest sets an application's executor total.
type AppRequest struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

// AppKill releases executors of an application.
type AppKill struct {
	ID          string   `json:"id"`
	ExecutorIDs []string `json:"executorIds"`
}

// DriverSubmission is a cluster deploy mode request. The binary itself is
// uploaded first to pathBinary+SHA256.
type DriverSubmission struct {
	SHA256    string   `json:"sha256"`
	Args      []string `json:"args"`
	SubmitEnv string   `json:"submitEnv"`
	Cores     int      `json:"cores"`
	MemoryMiB int      `json:"memoryMiB"`
	Supervise bool     `json:"supervise"`
}

// DriverRef names a cluster-mode driver (--status, --kill).
type DriverRef struct {
	DriverID string `json:"driverId"`
}

// DriverStatus answers submit, --status and --kill.
type DriverStatus struct {
	DriverID string `json:"driverId"`
	State    string `json:"state"`
	WorkerID string `json:"workerId,omitempty"`
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason,omitempty"`
	Restarts int    `json:"restarts"`
}

// errorReply is the body of a failed request.
type errorReply struct {
	Error string `json:"error"`
	// Standby is true when the master asked is not the leader.
	Standby bool `json:"standby,omitempty"`
	// Unknown is true when the master does not know the worker or
	// application (it restarted): the caller registers again.
	Unknown bool `json:"unknown,omitempty"`
}
