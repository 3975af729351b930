// The front door library; see FrontDoor.swift.
