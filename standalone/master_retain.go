package standalone

import (
	"sort"
)

// defaultRetained is the default of stoke.deploy.retainedApplications and
// stoke.deploy.retainedDrivers (Spark's).
const defaultRetained = 200

func appEnded(a *appInfo) bool {
	return a.state == StateFinished || a.state == StateKilled || a.state == StateFailed
}

func driverEnded(d *driverInfo) bool {
	return d.state != StateSubmitted && d.state != StateRunning && d.state != StateRelaunch
}

// trimRetained forgets the ended applications (oldest end first) and the
// ended drivers (oldest submission first; driver ids sort the same way) beyond the retained limits.
// Called with m.mu held.
func (m *Master) trimRetained() {
	keepApps, keepDrivers := m.opts.RetainedApps, m.opts.RetainedDrivers
	if keepApps <= 0 {
		keepApps = defaultRetained
	}
	if keepDrivers <= 0 {
		keepDrivers = defaultRetained
	}
	var apps []*appInfo
	for _, a := range m.apps {
		if appEnded(a) {
			apps = append(apps, a)
		}
	}
	if len(apps) > keepApps {
		sort.Slice(apps, func(i, j int) bool {
			if !apps[i].ended.Equal(apps[j].ended) {
				return apps[i].ended.Before(apps[j].ended)
			}
			return apps[i].desc.ID < apps[j].desc.ID
		})
		for _, a := range apps[:len(apps)-keepApps] {
			delete(m.apps, a.desc.ID)
		}
	}
	// A killed driver stays on its worker until the worker reports it
	// gone; it is kept until then so that its resources are freed.
	placed := map[string]bool{}
	for _, w := range m.workers {
		for id := range w.drivers {
			placed[id] = true
		}
	}
	var drivers []*driverInfo
	for _, d := range m.drivers {
		if driverEnded(d) && !placed[d.id] {
			drivers = append(drivers, d)
		}
	}
	if len(drivers) > keepDrivers {
		sort.Slice(drivers, func(i, j int) bool {
			if !drivers[i].submitted.Equal(drivers[j].submitted) {
				return drivers[i].submitted.Before(drivers[j].submitted)
			}
			return drivers[i].id < drivers[j].id
		})
		for _, d := range drivers[:len(drivers)-keepDrivers] {
			delete(m.drivers, d.id)
		}
	}
}
