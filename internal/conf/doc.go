// Package conf owns Stoke's configuration: the registry of known stoke.* keys
// with their types and defaults, the Conf value an application runs with (each
// value remembering where it came from), master URL parsing, the
// stoke-defaults.conf properties file, and the hand-off of resolved settings
// from `stoke submit` to the application process through STOKE_SUBMIT_CONF.
package conf
