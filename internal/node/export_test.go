package node

// DetectionLease is the outbreak-detection lease, for the external tests.
var DetectionLease = detectionLease
