import ShearsNN
import ShearsTensor

/// One tensor slice that a channel of a dependency group owns: channel c of the group is the entries
/// `[c·block, (c+1)·block)` along `axis` of the state_dict entry `name`.
public struct GroupMember: Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Role: String, Codable, Sendable {
        /// A conv / linear weight or bias whose output channels make the group's channels (axis 0).
        case producer
        /// A batch norm's γ, β and running statistics on the group's channels (axis 0).
        case normalization
        /// A conv / linear weight reading the group's channels as inputs (axis 1; a linear after a flatten of
        /// [N, C, H, W] reads each channel as a block of H·W consecutive features).
        case consumer
    }
    public let name: String
    public let axis: Int
    public let block: Int
    public let role: Role

    public init(name: String, axis: Int, block: Int = 1, role: Role) {
        self.name = name; self.axis = axis; self.block = block; self.role = role
    }

    public var description: String {
        "\(role.rawValue) \(name)[axis \(axis)" + (block > 1 ? ", blocks of \(block)" : "") + "]"
    }

    /// The layer a weight or bias belongs to (`layer1.0.conv1` for `layer1.0.conv1.weight`).
    public var layer: String {
        guard let dot = name.lastIndex(of: ".") else { return name }
        return String(name[..<dot])
    }

    /// Whether this is a conv / linear weight (not a bias, not batch-norm state).
    public var isWeight: Bool { role != .normalization && name.hasSuffix(".weight") }
}

/// Channels that must be removed together (Fang et al. 2023, DepGraph): a conv's filters, its batch norm, the
/// following layers' input channels, and every other producer a residual addition sums with them.
public struct DependencyGroup: Codable, Equatable, Sendable {
    /// The group's first producing layer, in forward order (`conv1`, `layer2.0.conv2`).
    public let name: String
    public let channels: Int
    public let members: [GroupMember]
    /// Why the group's channels cannot be removed (fed by the model's input, read as its output, or passing
    /// through an op the tracer does not know); nil when they can.
    public let fixedBecause: String?

    public var prunable: Bool { fixedBecause == nil }
    public var producers: [GroupMember] { members.filter { $0.role == .producer } }
    /// The layers whose output width is this group's width.
    public var producingLayers: [String] { producers.filter(\.isWeight).map(\.layer) }
}
