import XCTest
// placeholder; replaced by real tests
