// Package driver is the application's driver: the Context, the DAG
// scheduler that cuts jobs into stages at shuffle boundaries, and the glue
// that feeds the pure task scheduler (driver/sched) with executor and task
// events and applies its decisions through a backend.Backend. It never
// imports a concrete backend.
package driver
