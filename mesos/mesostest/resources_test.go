package mesostest

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	mres "github.com/mesos/mesos-go/api/v1/lib/resources"
)

func TestResourcesArithmetic(t *testing.T) {
	spec := AgentSpec{}
	spec.setDefaults()
	total, err := spec.total()
	if err != nil {
		t.Fatal(err)
	}
	task, _ := fromProto(append(Resources(1.5, 100), mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(),
		Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 31000, End: 31000}, {Begin: 31500, End: 31509}}}}))
	left := total.minus(task)
	if left.scalar("cpus") != 2.5 || left.scalar("mem") != 3996 {
		t.Fatalf("left %v", left)
	}
	if got := left.ranges["ports"]; len(got) != 2 || got[0].Begin != 31001 || got[1].Begin != 31510 {
		t.Fatalf("ports %v", got)
	}
	if left.contains(task) || !total.contains(task) || !left.plus(task).contains(total) {
		t.Fatal("containment")
	}
	if _, err := fromProto([]mesos.Resource{{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: -1}}}); err == nil {
		t.Fatal("negative scalar accepted")
	}
	// three decimals, as Mesos' fixed point: ten 0.1 cpu tasks free 1 cpu
	r := newResources()
	for i := 0; i < 10; i++ {
		r = r.plus(resources{scalars: map[string]float64{"cpus": 0.1}})
	}
	if r.scalar("cpus") != 1 {
		t.Fatalf("%v", r.scalar("cpus"))
	}
}

// Offers read with mesos-go's resource helpers, as a framework does.
func TestOfferResourcesWithMesosGoHelpers(t *testing.T) {
	spec := AgentSpec{CPUs: 3, MemMB: 512}
	spec.setDefaults()
	total, _ := spec.total()
	offered := total.toProto("")
	if cpus, ok := mres.CPUs(offered...); !ok || cpus != 3 {
		t.Fatalf("cpus %v %v", cpus, ok)
	}
	if mem, ok := mres.Memory(offered...); !ok || mem != 512 {
		t.Fatalf("mem %v", mem)
	}
	if ports, ok := mres.Ports(offered...); !ok || ports.Size() != 1001 {
		t.Fatalf("ports %v", ports)
	}
	want := []mesos.Resource{mres.NewCPUs(1).Resource, mres.NewMemory(64).Resource}
	if !mres.ContainsAll(offered, want) {
		t.Fatalf("offer %v does not contain %v", offered, want)
	}
}
