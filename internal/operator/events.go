package operator

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// maxNote is the longest Event note the API accepts (events.k8s.io/v1).
const maxNote = 1024

// boundedRecorder keeps Event notes within the API's limit: a longer note
// makes the API refuse the Event, and the warning it carried is lost.
type boundedRecorder struct{ events.EventRecorder }

func (r boundedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", boundNote(fmt.Sprintf(note, args...)))
}

// boundNote cuts note to maxNote bytes on a character boundary.
func boundNote(note string) string { return gatewayv1alpha1.Truncate(note, maxNote) }
